"""Deposit and cancellation policies, the policy engine that applies them, and the money ledger."""
