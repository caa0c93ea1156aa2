"""The order ticket and the client's orders: thin views, the account always the signed-in
client's own, every order fetched through ``_get_order_for_user``."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from margin import selectors as margin
from portal import calendars
from portal.pagination import paginate
from trading import pretrade, selectors, services
from trading.forms import OrderForm
from trading.models import Order


def _account(request: HttpRequest):
    """The signed-in client's own margin account; never one named by the request."""
    return margin.account_for_client(request.user)


def _get_order_for_user(request: HttpRequest, pk: int) -> Order:
    account = _account(request)
    order = selectors.order_for_account(account.pk, pk) if account is not None else None
    if order is None:
        raise Http404
    return order


def _today():
    return timezone.now().astimezone(calendars.SHANGHAI).date()


@login_required
@require_http_methods(["GET", "POST"])
def ticket(request: HttpRequest) -> HttpResponse:
    account = _account(request)
    if account is None:
        return render(request, "trading/no_account.html")
    form = OrderForm(request.POST or None)
    check = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        order_request = pretrade.OrderRequest(
            data["side"], data["kind"], data["code"], data["quantity"], data["price"]
        )
        if request.POST.get("action") == "submit":
            try:
                submitted = services.order_submit(
                    account_id=account.pk,
                    side=data["side"],
                    kind=data["kind"],
                    code=data["code"],
                    quantity=data["quantity"],
                    price=data["price"],
                    client_token=data["token"],
                    actor=request.user,
                )
            except services.OrderRefused as refused:
                check = refused.check
            else:
                if submitted.created:
                    messages.success(
                        request,
                        _("Order #%(order)s accepted. Executions are simulated in this deployment.")
                        % {"order": submitted.order.pk},
                    )
                else:
                    messages.info(request, _("This ticket was already submitted: one order."))
                return redirect("trading:orders")
        else:
            check = pretrade.check(account, order_request)
    return render(
        request,
        "trading/ticket.html",
        {
            "account": account,
            "form": form,
            "check": check,
            "language": translation.get_language() or "zh-hans",
            "positions": selectors.positions_with_sellable(account.pk, day=_today()),
        },
    )


@login_required
def orders(request: HttpRequest) -> HttpResponse:
    account = _account(request)
    if account is None:
        return render(request, "trading/no_account.html")
    return render(
        request,
        "trading/orders.html",
        {
            "account": account,
            "orders": paginate(request, selectors.orders_of(account.pk, limit=None)),
            # The live pushes (/ws/trading/) carry status codes; the page shows these words.
            "status_labels": {code: str(label) for code, label in Order.Status.choices},
        },
    )


@login_required
def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    order = _get_order_for_user(request, pk)
    return render(
        request,
        "trading/order_detail.html",
        {"order": order, "language": translation.get_language() or "zh-hans"},
    )


@login_required
@require_POST
def order_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    order = _get_order_for_user(request, pk)
    try:
        services.order_cancel(order_id=order.pk, account_id=order.account_id, actor=request.user)
    except services.CancelRefused as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, _("Order #%(order)s cancelled.") % {"order": order.pk})
    return redirect("trading:orders")
