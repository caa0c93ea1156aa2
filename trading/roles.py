"""What each staff role may do in the trading app (see accounts.roles)."""

_READ = ["trading.view_order", "trading.view_fill", "trading.view_fillcost"]

ROLE_PERMISSIONS = {
    # 客服 sees a caller's orders and fills, to explain them; changes nothing.
    "agent": _READ,
    # 风控 halts an instrument or the platform, and reads which checks refuse orders.
    "risk_officer": [
        *_READ,
        "trading.view_tradinghalt",
        "trading.halt_trading",
        "trading.view_refusalcount",
    ],
    "compliance": [*_READ, "trading.view_tradinghalt", "trading.view_refusalcount"],
}
