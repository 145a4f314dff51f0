"""Clients of a business: contact details, consent, language, history and reliability."""
