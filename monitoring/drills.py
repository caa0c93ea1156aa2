"""Drills: a stress scenario replayed through monitoring, on copies. Which alerts would fire,
which responses would apply (at once, or waiting for an officer), and how many clients they
would reach, beside the stress test's levels and shortfall. Nothing is recorded, no account
is touched and nobody is told."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from margin import measures, selectors, stress
from monitoring import live, responses, thresholds


@dataclass
class Drill:
    scenario: str
    description: str
    alerts: list[dict[str, Any]] = field(default_factory=list)
    responses: list[dict[str, Any]] = field(default_factory=list)
    stress: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "description": self.description,
            "alerts": self.alerts,
            "responses": self.responses,
            "stress": self.stress,
        }


def run(name: str, *, sector: str | None = None) -> Drill:
    """Replay scenario ``name`` (``margin.stress.SCENARIOS``) through monitoring."""
    scenario = stress.SCENARIOS[name]
    if name.startswith("sector") and sector is None:
        sector = stress.largest_sector()
    instruments = selectors.instruments()
    shocked = {i.code: scenario.shock(i, sector)[0] for i in instruments}
    monitor = live.Monitor(instruments, table=thresholds.load(), record=False)
    day = monitor.tick(shocked, {}, _now())
    engine = selectors.load_from_db()
    engine.tick({code: price for code, price in shocked.items() if code in engine.symbols})
    view = monitor.book(engine, _now())
    drill = Drill(scenario=name, description=scenario.description)
    for signal in [*day.signals, *view.result.signals]:
        drill.alerts.append(
            {
                "rule": signal.rule,
                "subject": signal.subject,
                "level": signal.level,
                "value": str(signal.value),
                "threshold": str(signal.threshold),
            }
        )
        for kind in responses.RULE_RESPONSES.get(signal.rule, ()):
            code = signal.subject if kind == responses.Kind.PAUSE_BUYS else ""
            drill.responses.append(
                {
                    "kind": kind,
                    "instrument": code,
                    "at_once": kind in settings.MONITORING_RESPONSES_AT_ONCE,
                    "clients": len(measures.clients_affected(code)),
                    "because": signal.rule,
                }
            )
    drill.stress = stress.run(name, sector=sector).as_dict()
    return drill


def _now():
    from django.utils import timezone

    return timezone.now()
