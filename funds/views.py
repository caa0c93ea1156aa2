from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from funds import selectors, services, statements
from funds.forms import BankAccountForm, StatementForm, WithdrawalForm
from funds.models import BankAccount, Statement
from margin.models import MarginAccount
from portal import files
from portal.pagination import paginate


def _get_account_for_user(request: HttpRequest) -> MarginAccount | None:
    """The signed-in client's own margin account; never one named by the request."""
    return selectors.account_for_client(request.user)


def _get_statement_for_user(request: HttpRequest, pk: int) -> Statement:
    statement = Statement.objects.filter(pk=pk, margin_account__client=request.user).first()
    if statement is None:
        raise Http404
    return statement


def _banks(request: HttpRequest):
    return BankAccount.objects.filter(client=request.user, verified_at__isnull=False)


@login_required
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    account = _get_account_for_user(request)
    if account is None:
        return render(request, "funds/no_account.html")
    banks = _banks(request)
    return render(
        request,
        "funds/index.html",
        {
            "account": account,
            "reference": services.deposit_reference_for(account).reference,
            "custodian": {
                "bank": settings.FUNDS_CUSTODIAN_BANK,
                "name": settings.FUNDS_CUSTODIAN_ACCOUNT_NAME,
                "number": settings.FUNDS_CUSTODIAN_ACCOUNT_NUMBER,
            },
            "limit": services.withdrawal_limit(account),
            # Three lists on one page, each with its own page number.
            "movements": paginate(
                request, selectors.MovementPages(account), per_page=50, param="movements"
            ),
            "withdrawals": paginate(
                request,
                selectors.withdrawals(account).order_by("-requested_at", "-pk"),
                per_page=20,
                param="withdrawals",
            ),
            "statements": paginate(
                request,
                selectors.statements(account).order_by("-period_end", "-pk"),
                per_page=24,
                param="statements",
            ),
            "banks": banks,
            "withdrawal_form": WithdrawalForm(banks=banks),
            "bank_form": BankAccountForm(),
            "statement_form": StatementForm(),
        },
    )


@login_required
@require_POST
def bank_account_add(request: HttpRequest) -> HttpResponse:
    form = BankAccountForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Check the bank account details."))
        return redirect("funds:index")
    try:
        services.bank_account_add(client=request.user, **form.cleaned_data)
    except services.BankAccountError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Bank account added and verified in your name."))
    return redirect("funds:index")


@login_required
@require_POST
def withdraw(request: HttpRequest) -> HttpResponse:
    account = _get_account_for_user(request)
    if account is None:
        raise Http404
    form = WithdrawalForm(request.POST, banks=_banks(request))
    if not form.is_valid():
        messages.error(request, _("Choose your bank account and enter an amount in yuan."))
        return redirect("funds:index")
    result = services.withdrawal_request(
        client=request.user,
        margin_account_id=account.pk,
        bank_account_id=form.cleaned_data["bank_account"],
        amount=form.cleaned_data["amount"],
        idempotency_key=str(form.cleaned_data["token"]),
    )
    amount = f"¥{result.amount:,.2f}"
    if result.status == result.Status.REFUSED:
        messages.error(
            request,
            _("Withdrawal refused: %(reason)s The most you may withdraw now is %(largest)s.")
            % {"reason": result.reason, "largest": f"¥{result.largest_allowed:,.2f}"},
        )
    elif result.status == result.Status.PAID:
        messages.success(request, _("Withdrawal of %(amount)s paid.") % {"amount": amount})
    else:
        messages.success(
            request,
            _("Withdrawal of %(amount)s accepted; it awaits approval by two staff members.")
            % {"amount": amount},
        )
    return redirect("funds:index")


@login_required
@require_POST
def statement_request(request: HttpRequest) -> HttpResponse:
    account = _get_account_for_user(request)
    if account is None:
        raise Http404
    form = StatementForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(form.errors.get("__all__", [_("Enter both dates.")])))
        return redirect("funds:index")
    statements.statement_request(
        margin_account=account, start=form.cleaned_data["start"], end=form.cleaned_data["end"]
    )
    messages.success(request, _("Your statement is being prepared; it appears below when ready."))
    return redirect("funds:index")


@login_required
@require_GET
def statement_download(request: HttpRequest, pk: int) -> HttpResponse:
    statement = _get_statement_for_user(request, pk)
    if not statements.statement_requested(statement):
        messages.info(request, _("Your statement is being prepared; it appears below when ready."))
        return redirect("funds:index")
    return files.serve(
        request,
        owner_id=statement.margin_account.client_id,
        open_file=lambda: statement.pdf.open("rb"),
        filename=f"statement-{statement.margin_account.number}-{statement.period_end}.pdf",
        content_type="application/pdf",
    )
