"""A double submit racing on PostgreSQL's real row locks opens exactly one contract."""

import threading

import pytest
from django.db import connection

from margin import services
from margin.models import MarginAccount, MarginContract
from tests.education import factories as education
from tests.margin.factories import accept_financing_documents, eligible_client

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_four_simultaneous_activations_open_one_contract(settings):
    settings.EDUCATION_COOL_OFF_HOURS = 0
    education.documents_in_force()
    education.course()
    user = eligible_client()
    accept_financing_documents(user)
    education.through_gate(user)
    barrier = threading.Barrier(4)
    created: list[bool] = []

    def submit():
        try:
            barrier.wait()
            created.append(services.financing_activate(user=user, leverage_tier=1).created)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(created) == [False, False, False, True]
    assert MarginContract.objects.filter(account__client=user).count() == 1
    assert MarginAccount.objects.filter(client=user).count() == 1
