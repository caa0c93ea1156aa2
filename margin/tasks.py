"""Celery tasks of the margin app: each takes ids and calls one service."""

from celery import shared_task

from margin import services


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=30, max_retries=5)
def execute_liquidation_plan(plan_id: int) -> None:
    services.liquidation_plan_execute(plan_id=plan_id)


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=30, max_retries=5)
def propose_liquidation_plans(event_ids: list[int]) -> int:
    """The liquidation plans of transitions recorded by the risk engine (idempotent)."""
    return len(services.liquidation_plans_propose(event_ids=event_ids))


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=30, max_retries=5)
def queue_liquidation_plans(event_ids: list[int]) -> None:
    """A fall's many plan tasks, queued by a worker rather than by the risk engine's step."""
    services.liquidation_plans_queue_batches(event_ids=event_ids)


@shared_task
def sweep_call_deadlines() -> dict[str, int]:
    result = services.margin_call_deadline_sweep()
    return {"missed": result.missed, "plans": result.plans}


@shared_task(acks_late=True, time_limit=600, soft_time_limit=540)
def weekly_risk_report() -> int:
    from margin import reports

    return reports.risk_report_weekly(week_starts_on=reports.last_week_start()).pk
