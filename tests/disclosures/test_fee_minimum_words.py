"""The fee schedule says the trade service fee's minimum is per order, in both languages, because
that is what the trading channel charges: an order filled in parts pays the 5.00 minimum once
(tests/trading/test_partial_fills.py). The Chinese note once read "每笔成交" (each fill) while the
English read "each order" and the code charged per order.
"""

from disclosures.demo_content import FEES_EN, FEES_ZH, fee_items
from disclosures.models import ItemKind


def test_the_minimum_fee_is_stated_per_order_in_both_languages():
    (minimum,) = [item for item in fee_items() if item.kind == ItemKind.TRADE_FEE_MINIMUM]
    assert minimum.note_zh == "每笔委托"
    assert minimum.note_en == "each order"
    assert "每笔委托不低于表列最低金额（一笔委托分次成交的，最低收费只收一次）" in FEES_ZH
    assert "per order (an order filled in parts pays the minimum once)" in FEES_EN
    assert "每笔成交" not in FEES_ZH
