"""What each staff role may do in the margin app (see accounts.roles)."""

_READ = [
    "margin.view_instrument",
    "margin.view_marginaccount",
    "margin.view_margincontract",
    "margin.view_position",
    "margin.view_marginevent",
    "margin.view_margincall",
    "margin.view_restriction",
    "margin.view_accountfreeze",
]

ROLE_PERMISSIONS = {
    # 客服 sees a caller's margin status and calls, to explain them; changes nothing.
    "agent": _READ,
    # 风控 reviews calls and restrictions, decides liquidation plans and the volatility regime,
    # freezes accounts (with a second officer) and sets instruments' risk status.
    "risk_officer": [
        *_READ,
        "margin.view_liquidationplan",
        "margin.decide_liquidationplan",
        "margin.view_volatilityregime",
        "margin.decide_volatilityregime",
        "margin.view_riskreport",
        "margin.decide_accountfreeze",
        "margin.change_instrument_status",
    ],
    # 合规 reads the whole record of risk actions.
    "compliance": [
        *_READ,
        "margin.view_liquidationplan",
        "margin.view_volatilityregime",
        "margin.view_riskreport",
    ],
}
