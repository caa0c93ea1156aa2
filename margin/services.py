"""The margin app's writes, by what they hold: transitions (the engine's level changes), calls,
liquidation plans, the volatility regime, balances and the client's financing. Other apps import
from here; the modules are where the rules live.
"""

from __future__ import annotations

from margin.balances import (
    BalancesWouldGoNegative,
    account_balances_apply,
)
from margin.calls import (
    CALL_TRADING_DAYS,
    SweepResult,
    margin_call_deadline_sweep,
    margin_call_restore,
)
from margin.financing import (
    CAP_CODE,
    INITIAL_MARGIN_CODE,
    RATIO_PLACES,
    Activation,
    FinancingRefused,
    TierTerms,
    contract_rollover,
    financing_activate,
    financing_terms_accept,
    leverage_tier_change,
    leverage_tier_raise,
    tier_terms,
)
from margin.liquidation_plans import (
    PlanDecisionError,
    _propose_plan,
    _sellables,
    liquidation_plan_approve,
    liquidation_plan_confirm_execution,
    liquidation_plan_execute,
    liquidation_plan_reject,
    liquidation_plans_propose,
    liquidation_plans_propose_missing,
    liquidation_plans_queue_batches,
    liquidation_plans_requeue,
)
from margin.regime import (
    LINE_CODES,
    volatility_regime_decide,
    volatility_regime_propose,
)
from margin.transitions import (
    StaleTransition,
    margin_event_record,
    margin_transitions_record,
)

__all__ = [
    "CALL_TRADING_DAYS",
    "CAP_CODE",
    "INITIAL_MARGIN_CODE",
    "LINE_CODES",
    "RATIO_PLACES",
    "Activation",
    "BalancesWouldGoNegative",
    "FinancingRefused",
    "PlanDecisionError",
    "StaleTransition",
    "SweepResult",
    "TierTerms",
    "_propose_plan",
    "_sellables",
    "account_balances_apply",
    "contract_rollover",
    "financing_activate",
    "financing_terms_accept",
    "leverage_tier_change",
    "leverage_tier_raise",
    "liquidation_plan_approve",
    "liquidation_plan_confirm_execution",
    "liquidation_plan_execute",
    "liquidation_plan_reject",
    "liquidation_plans_propose",
    "liquidation_plans_propose_missing",
    "liquidation_plans_queue_batches",
    "liquidation_plans_requeue",
    "margin_call_deadline_sweep",
    "margin_call_restore",
    "margin_event_record",
    "margin_transitions_record",
    "tier_terms",
    "volatility_regime_decide",
    "volatility_regime_propose",
]
