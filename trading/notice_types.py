"""Trading notices: fill confirmations, orders rejected at execution, halts imposed and lifted."""

from django.utils.translation import gettext_lazy as _

from notices.registry import Category, Channel, NoticeType, register

for key, description, context in [
    (
        "trading_fill",
        _("Your order was filled"),
        ("account_number", "side", "code", "quantity", "price", "value", "costs"),
    ),
    (
        "trading_rejected",
        _("Your order was rejected at execution"),
        ("account_number", "side", "code", "quantity", "reason"),
    ),
    ("trading_halt", _("Risk control halted trading"), ("scope", "reason")),
    ("trading_halt_lifted", _("Trading resumed"), ("scope", "reason")),
]:
    register(
        NoticeType(
            key=key,
            category=Category.SERVICE,
            channels=(Channel.INAPP,),
            description=description,
            required_context=context,
        )
    )
