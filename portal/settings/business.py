"""The business's own numbers: the risk engine and its feed, the gate's cool-off, client money.

Amounts and shares stay text here (services read them with Decimal) but are checked at start-up:
a malformed one stops the process naming the variable.
"""

from .env import env, env_amount, env_bool, env_int, env_share

# --- margin: risk engine, feed, rates --------------------------------------------------------
# Embedded mode runs the feed and the engine inside the ASGI process (dev turns it on); in
# production `python manage.py run_risk_engine` does, as its own Procfile process.
MARGIN_ENGINE_EMBEDDED = False
MARGIN_FEED = env("MARGIN_FEED", "simulated")  # "simulated", "manual" or a path to a CSV replay
MARGIN_FEED_SEED = env_int("MARGIN_FEED_SEED", 20260119, minimum=0)
MARGIN_FEED_STEP_SECONDS = env_int("MARGIN_FEED_STEP_SECONDS", 60, minimum=1)  # per tick
MARGIN_TICK_SECONDS = 1.0
MARGIN_PUSH_INTERVAL = 1.0  # at most one push per account per second, level changes at once
# Financing per yuan of client margin allowed for new financing, per volatility regime.
MARGIN_REGIME_LEVERAGE_CAPS = {
    "normal": "1.00",
    "elevated": "0.80",
    "stressed": "0.50",
    "emergency": "0.00",  # the freeze line: no new financing at all (margin.restrictions)
}
# By policy a tighter regime raises the warning, call and liquidation lines by this much; it is
# drafted as a margin-contract disclosure change (notice first), never applied directly.
MARGIN_REGIME_LINE_RAISE = {"normal": "0", "elevated": "0.05", "stressed": "0.10", "emergency": "0"}

# --- education: the gate's cool-off before financing can be activated -----------------------
EDUCATION_COOL_OFF_HOURS = env_int("EDUCATION_COOL_OFF_HOURS", 24, minimum=0)

# --- funds: client money ---------------------------------------------------------------------
# Withdrawals above this many yuan need two staff approvals (four-eyes); below, paid at once.
FUNDS_WITHDRAWAL_APPROVAL_THRESHOLD = env_amount("FUNDS_WITHDRAWAL_APPROVAL_THRESHOLD", "50000.00")
# An agent may credit at most this many yuan from suspense a day (funds.suspense).
FUNDS_SUSPENSE_DAILY_LIMIT = env_amount("FUNDS_SUSPENSE_DAILY_LIMIT", "200000.00")
# The risk reserve must be at least this share of total financing outstanding.
FUNDS_RISK_RESERVE_SHARE = env_share("FUNDS_RISK_RESERVE_SHARE", "0.05")
# The segregated custodian account clients pay into (shown on the deposit page).
FUNDS_CUSTODIAN_BANK = env(
    "FUNDS_CUSTODIAN_BANK", "招商银行上海分行 China Merchants Bank, Shanghai"
)
FUNDS_CUSTODIAN_ACCOUNT_NAME = env(
    "FUNDS_CUSTODIAN_ACCOUNT_NAME", "旺润客户保证金专户 Wangrun client money account"
)
FUNDS_CUSTODIAN_ACCOUNT_NUMBER = env("FUNDS_CUSTODIAN_ACCOUNT_NUMBER", "121909876510888")

# --- trading: the venue orders execute through (trading app) ----------------------------------
# The simulated venue matches orders against the market feed; a broker gateway would implement
# trading.venue.Venue and be named here. Embedded mode runs the venue loop inside the ASGI
# process; production runs `python manage.py run_venue` as its own Procfile process.
TRADING_VENUE = env("TRADING_VENUE", "trading.venue.SimulatedVenue")
TRADING_VENUE_EMBEDDED = False
TRADING_VENUE_INTERVAL = 0.25  # seconds between venue steps
# Connections a venue step records its accounts' fills on side by side (PostgreSQL; 1: in turn).
TRADING_VENUE_FILL_WORKERS = env_int("TRADING_VENUE_FILL_WORKERS", 4, minimum=1)
# Market-wide reference data the pre-trade check keeps per process (trading.reference).
TRADING_REFERENCE_SECONDS = 1.0
# The simulated venue fills an order with at most this share of a tick's reported volume.
TRADING_SIM_PARTICIPATION = "0.25"
# An order that can trade at the price in force when it arrives in continuous trading fills at
# once at that price, as an exchange executes against its book, if the feed priced the
# instrument at most TRADING_SIM_PRICE_FRESH_SECONDS before (a Level-1 snapshot's 3 s); else, and
# in the call auctions, at the next tick. False: every order waits for the next tick.
TRADING_SIM_FILL_ON_ARRIVAL = env_bool("TRADING_SIM_FILL_ON_ARRIVAL", True)
TRADING_SIM_PRICE_FRESH_SECONDS = 3.0
# An approved forced-liquidation plan sells through the venue like a client's sale.
TRADING_LIQUIDATION_THROUGH_VENUE = True

# --- monitoring: market and book signals, alerts, responses, evaluations --------------------
# Called by the risk runner after every applied tick (margin does not import monitoring).
MARGIN_TICK_OBSERVERS = ["monitoring.live.observe_tick", "trading.venue.tick_landed"]
MONITORING_BOOK_EVERY_SECONDS = 5.0  # book signals at most this often (wall clock)
MONITORING_SNAPSHOT_EVERY_MINUTES = 5  # a BookSnapshot for trends and charts (market time)
# A partition's share of the book older than this (market time) is shown as stale on the board.
MONITORING_BOOK_STALE_SECONDS = 30
# Minutes to acknowledge an alert before it is escalated one level (0: never escalated).
MONITORING_ACK_MINUTES = {"info": 0, "warning": 30, "critical": 5}
# Applied at once (new business only, as the margin contract allows); the rest wait for an officer.
MONITORING_RESPONSES_AT_ONCE = ["pause_buys", "circuit_breaker"]
MONITORING_RESPONSE_DEFAULTS = {
    "pause_buys": {"review_hours": 24},
    "short_hours": {"from": "09:45", "until": "14:30", "days": 5, "review_hours": 24},
    "circuit_breaker": {"minutes": 30, "review_hours": 0.5},
    "lower_caps": {"review_hours": 120},
    "raise_margin": {"review_hours": 120},
    "emergency_freeze": {"review_hours": 4},
}
