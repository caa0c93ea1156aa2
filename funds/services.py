"""Client-money workflows, one module each: deposits, withdrawals, daily interest, reconciliation,
the risk reserve. Every movement is a balanced ledger entry (``funds.ledger``). Other apps import
from here.
"""

from __future__ import annotations

from funds.amounts import (
    FEN,
    SHANGHAI,
    ZERO,
)
from funds.deposits import (
    deposit_credit,
    deposit_reference_for,
)
from funds.interest import (
    daily_charge,
    days_to_accrue,
    interest_accrue,
)
from funds.reconciliation import (
    ReconciliationResult,
    reconciliation_run,
)
from funds.reserve import (
    ReserveCheck,
    risk_reserve_check,
    risk_reserve_fund,
)
from funds.withdrawals import (
    WITHDRAWAL_FEE_CODE,
    ApprovalError,
    BankAccountError,
    WithdrawalFee,
    WithdrawalLimit,
    bank_account_add,
    withdrawal_approve,
    withdrawal_fee,
    withdrawal_limit,
    withdrawal_reject,
    withdrawal_request,
)

__all__ = [
    "FEN",
    "SHANGHAI",
    "WITHDRAWAL_FEE_CODE",
    "ZERO",
    "ApprovalError",
    "BankAccountError",
    "ReconciliationResult",
    "ReserveCheck",
    "WithdrawalFee",
    "WithdrawalLimit",
    "bank_account_add",
    "daily_charge",
    "days_to_accrue",
    "deposit_credit",
    "deposit_reference_for",
    "interest_accrue",
    "reconciliation_run",
    "risk_reserve_check",
    "risk_reserve_fund",
    "withdrawal_approve",
    "withdrawal_fee",
    "withdrawal_limit",
    "withdrawal_reject",
    "withdrawal_request",
]
