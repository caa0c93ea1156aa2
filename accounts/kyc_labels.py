"""The automatic KYC checks and risk rules as a reviewer reads them.

The case stores each check and rule under a stable key with figures (``duplicate_id``, the other
case numbers) so the score stays explainable whatever language the reviewer reads; these are the
words for them.
"""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

CHECK_LABELS = {
    "id_number": gettext_lazy("ID number"),
    "duplicate_id": gettext_lazy("ID number used elsewhere"),
    "screening": gettext_lazy("Sanctions and PEP screening"),
}

RULE_LABELS = {
    "sanctions_match": gettext_lazy("Possible sanctions list match"),
    "pep_match": gettext_lazy("Possible politically exposed person"),
    "duplicate_id": gettext_lazy("ID number already used by another account"),
    "related_party": gettext_lazy("Declared related party"),
    "source_of_funds": gettext_lazy("Source of funds borrowed or other"),
    "occupation": gettext_lazy("Student: limited income for a leveraged product"),
    "low_income": gettext_lazy("Annual income under RMB 100,000"),
    "no_face_check": gettext_lazy("Face comparison refused: verify in person"),
    "age": gettext_lazy("Aged 70 or over"),
}


def check_detail(check: dict) -> str:
    """What a stored check found, in the reader's language."""
    kind, ok, detail = check.get("check"), check.get("ok"), check.get("detail", "")
    if kind == "id_number":
        # A failed check stores the validator's own (translated) message.
        return _("Check digit and age verified") if ok else detail
    if kind == "duplicate_id":
        if ok:
            return _("No other case has this ID number")
        others = detail.removeprefix("other cases: ").strip("[]")
        return _("Also on case(s) %(cases)s") % {
            "cases": ", ".join(f"#{n.strip()}" for n in others.split(",") if n.strip())
        }
    if kind == "screening":
        count = detail.split(" ", 1)[0]
        return _("%(count)s possible match(es)") % {"count": count}
    return detail


def checks_for_display(checks: list[dict]) -> list[dict]:
    return [
        {
            "ok": c.get("ok"),
            "label": str(CHECK_LABELS.get(c.get("check", ""), c.get("check", ""))),
            "detail": check_detail(c),
        }
        for c in checks
    ]


def rules_for_display(rules: list[dict]) -> list[dict]:
    return [
        {
            "label": str(RULE_LABELS.get(r.get("rule", ""), r.get("why", ""))),
            "points": r.get("points"),
        }
        for r in rules
    ]
