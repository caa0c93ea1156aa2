"""What each staff role may do in the funds app (see accounts.roles)."""

_READ = [
    "funds.view_ledgeraccount",
    "funds.view_journalentry",
    "funds.view_ledgerline",
    "funds.view_charge",
    "funds.view_withdrawalrequest",
    "funds.view_custodianstatement",
    "funds.view_custodiantransaction",
    "funds.view_reconciliationbreak",
]

ROLE_PERMISSIONS = {
    # 客服 works unmatched receipts held in suspense (and sees only those: funds.admin), never the
    # ledger or clients' bank accounts wholesale.
    "agent": ["funds.view_custodiantransaction", "funds.change_custodiantransaction"],
    # 风控 approves large withdrawals (two different officers) and watches breaks and the reserve.
    # They also approve credits from suspense whose payer name did not match (funds.suspense).
    "risk_officer": [
        *_READ,
        "funds.approve_withdrawalrequest",
        "funds.approve_suspense_credit",
        "funds.view_bankaccount",
    ],
    # 合规 reads the whole ledger and approves large withdrawals as a second pair of eyes.
    "compliance": [
        *_READ,
        "funds.approve_withdrawalrequest",
        "funds.approve_suspense_credit",
        "funds.view_bankaccount",
        "funds.view_statement",
    ],
}
