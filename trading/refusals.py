"""Every reason the pre-trade check can refuse an order, in plain words with what to do.

The codes are stable (they are counted per day for risk officers); the words are translated when
the check runs, with the order's own numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy


@dataclass(frozen=True)
class Refusal:
    code: str
    message: str  # translated: what is wrong and what to do about it


# Labels for the risk officers' table of refusals by reason.
LABELS = {
    "session_closed": gettext_lazy("Outside trading sessions"),
    "market_in_auction": gettext_lazy("Market order in a call auction"),
    "price_not_positive": gettext_lazy("Price zero or negative"),
    "price_off_tick": gettext_lazy("Price off the 0.01 tick"),
    "price_outside_band": gettext_lazy("Price outside the daily band"),
    "quantity_not_positive": gettext_lazy("Quantity zero or negative"),
    "quantity_too_large": gettext_lazy("Quantity over the order maximum"),
    "buy_lot": gettext_lazy("Buy not in lots of 100"),
    "star_minimum": gettext_lazy("STAR buy under 200 shares"),
    "star_sell_minimum": gettext_lazy("STAR sell under 200 shares"),
    "odd_lot": gettext_lazy("Odd lot not sold whole"),
    "t_plus_one": gettext_lazy("T+1: bought today"),
    "not_held": gettext_lazy("Selling more than held"),
    "suspended": gettext_lazy("Instrument suspended"),
    "halted": gettext_lazy("Instrument halted by risk control"),
    "platform_halted": gettext_lazy("Platform halted by risk control"),
    "restricted": gettext_lazy("Account restriction"),
    "regime_pause": gettext_lazy("High-risk buys paused (volatility regime)"),
    "suitability": gettext_lazy("Suitability"),
    "gate": gettext_lazy("Education gate"),
    "buying_power": gettext_lazy("Buying power"),
    "ratio_after": gettext_lazy("Ratio after the order below the line"),
    "concentration": gettext_lazy("Concentration over the limit"),
    "unknown_instrument": gettext_lazy("Unknown instrument"),
}


def session_closed() -> str:
    return _(
        "The exchange is not taking orders now. Orders are accepted 09:15–09:25 (call auction), "
        "09:30–11:30 and 13:00–15:00 Beijing time on trading days; place it then."
    )


def market_in_auction() -> str:
    return _(
        "Only limit orders enter a call auction (09:15–09:25 and 14:57–15:00). Give a limit "
        "price, or place the market order during continuous trading."
    )


def price_not_positive() -> str:
    return _("The price must be more than zero. Enter a price inside today's band.")


def price_off_tick(price: object) -> str:
    return _(
        "%(price)s is not on the 0.01 yuan tick. Enter the price with at most two decimals."
    ) % {"price": price}


def price_outside_band(price: object, low: object, high: object, rate: str) -> str:
    return _(
        "%(price)s is outside today's price band %(low)s – %(high)s (±%(rate)s of the previous "
        "close). Enter a price inside the band."
    ) % {"price": price, "low": low, "high": high, "rate": rate}


def quantity_not_positive() -> str:
    return _("The quantity must be a whole number of shares above zero.")


def quantity_too_large(maximum: int) -> str:
    return _(
        "One order may be at most %(maximum)s shares on this board. Split it into smaller orders."
    ) % {"maximum": f"{maximum:,}"}


def buy_lot(quantity: int) -> str:
    lower = quantity - quantity % 100
    return _("Buys are in lots of 100 shares; %(quantity)s is not. Buy %(lower)s or %(upper)s.") % {
        "quantity": quantity,
        "lower": lower or 100,
        "upper": lower + 100,
    }


def star_minimum() -> str:
    return _(
        "A STAR Market (688…) buy is at least 200 shares, then any number above. Buy 200 or more."
    )


def star_sell_minimum(sellable: int) -> str:
    return _(
        "A STAR Market sale is at least 200 shares, unless it sells all %(sellable)s you may "
        "sell. Sell 200 or more, or all of them."
    ) % {"sellable": sellable}


def odd_lot(sellable: int) -> str:
    return _(
        "Odd lots (under 100 shares) are sold whole: you may sell %(sellable)s, so sell a "
        "multiple of 100 or one that includes the remaining %(odd)s shares."
    ) % {"sellable": sellable, "odd": sellable % 100}


def t_plus_one(bought_today: int, sellable: int) -> str:
    return _(
        "Shares bought today cannot be sold today (T+1): %(today)s of them were bought today, so "
        "you may sell %(sellable)s now. Sell the rest from the next trading day."
    ) % {"today": bought_today, "sellable": sellable}


def not_held(held: int, reserved: int) -> str:
    if reserved:
        return _(
            "You hold %(held)s shares and open sell orders already hold back %(reserved)s. "
            "Lower the quantity or cancel an open sell order."
        ) % {"held": held, "reserved": reserved}
    return _("You hold %(held)s shares of it. Lower the quantity.") % {"held": held}


def suspended() -> str:
    return _("Trading in this stock is suspended. Orders can be placed once it resumes.")


def halted(reason: str) -> str:
    return _(
        "Risk control has halted trading in this stock (reason: %(reason)s). Orders can be "
        "placed once the halt is lifted; you are told when it is."
    ) % {"reason": reason}


def platform_halted(reason: str) -> str:
    return _(
        "Risk control has halted trading on the platform (reason: %(reason)s). No order can be "
        "placed until the halt is lifted; you are told when it is."
    ) % {"reason": reason}


def regime_pause() -> str:
    return _(
        "While the market is in a stressed volatility regime, buying high-risk stocks (ST, *ST, "
        "delisting, or flagged by risk control) is paused. You may still sell them."
    )


def suitability(message: str) -> str:
    return _("Suitability: %(message)s") % {"message": message}


def gate(message: str) -> str:
    return _("Education gate: %(message)s") % {"message": message}


def buying_power(needed: object, available: object) -> str:
    return _(
        "This buy needs %(needed)s yuan including costs; your buying power (cash plus unused "
        "credit line) is %(available)s yuan. Lower the quantity or deposit more."
    ) % {"needed": needed, "available": available}


def ratio_after(after: str, line: str) -> str:
    return _(
        "After this buy your maintenance ratio would be %(after)s, below the %(line)s your "
        "contract requires for new buys. Buy less, or deposit cash first."
    ) % {"after": after, "line": line}


def concentration(code: str, share: str, limit: str) -> str:
    return _(
        "After this buy %(code)s would be %(share)s of your account, over the %(limit)s limit "
        "of your contract. Buy less of it."
    ) % {"code": code, "share": share, "limit": limit}


def unknown_instrument(code: str) -> str:
    return _("%(code)s is not a stock this portal trades. Check the code (e.g. 600519.SH).") % {
        "code": code
    }
