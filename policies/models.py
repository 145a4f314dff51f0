# Policies, the engine's stored terms and the ledger arrive with the policies issue.
