"""What each staff role may do with disclosures (see accounts.roles)."""

ROLE_PERMISSIONS = {
    # 客服 answers questions about fees and terms. What each client was sent and answered is
    # per-client evidence, compliance's to read.
    "agent": [
        "disclosures.view_document",
        "disclosures.view_documentversion",
        "disclosures.view_feeitem",
    ],
    # 风控 reads the rates and lines it applies.
    "risk_officer": [
        "disclosures.view_document",
        "disclosures.view_documentversion",
        "disclosures.view_feeitem",
    ],
    # 合规 drafts, reviews, approves (never their own) and schedules.
    "compliance": [
        "disclosures.view_document",
        "disclosures.view_documentversion",
        "disclosures.add_documentversion",
        "disclosures.change_documentversion",
        "disclosures.approve_documentversion",
        "disclosures.schedule_documentversion",
        "disclosures.view_feeitem",
        "disclosures.add_feeitem",
        "disclosures.change_feeitem",
        "disclosures.delete_feeitem",
        "disclosures.view_changenotice",
        "disclosures.view_acknowledgement",
    ],
}
