"""Every write of the policies, one function per business action (see each module)."""

from policies.services.decisions import (
    decide_and_record,
    deposits_release_unpaid,
    policy_client_view,
    policy_decide,
    policy_decision_message,
    policy_terms_sentences,
    policy_terms_snapshot,
)
from policies.services.ledger import (
    credit_keep,
    deposit_mark_paid,
    fee_mark_paid,
    fee_waive,
    policy_correct_no_show,
)
from policies.services.setup import (
    client_flag,
    client_unflag,
    policy_create,
    policy_delete,
    policy_update,
    policy_validate,
    terms_from_policy,
)

__all__ = [
    "client_flag",
    "client_unflag",
    "credit_keep",
    "decide_and_record",
    "deposit_mark_paid",
    "deposits_release_unpaid",
    "fee_mark_paid",
    "fee_waive",
    "policy_client_view",
    "policy_correct_no_show",
    "policy_create",
    "policy_decide",
    "policy_decision_message",
    "policy_delete",
    "policy_terms_sentences",
    "policy_terms_snapshot",
    "policy_update",
    "policy_validate",
    "terms_from_policy",
]
