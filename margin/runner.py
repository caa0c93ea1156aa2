"""The risk engine at work: feed → checked prices → revaluation → events, notices, pushes.

One ``RiskRunner`` owns one engine (one partition of accounts) and one feed. Its synchronous
``start()`` and ``step()`` do the database work; ``run()`` drives them from an asyncio loop and
publishes the pushes (``margin.push``), so the same code runs inside the ASGI process
(embedded mode, see ``margin.embedded``) and in ``manage.py run_risk_engine`` (production).

Pushes: an account's status goes to ``margin.account.<id>`` at most once per ``push_interval``,
and at once when its level changes; a status held back by the limit goes out when the interval
has passed, so the last one is never lost. Each push carries the account's sequence number and
the runner's epoch, so a browser can see a gap or a restart and ask for a full snapshot.

Observers: every dotted path in ``settings.MARGIN_TICK_OBSERVERS`` is called after each applied
tick with ``runner``, ``tick`` (volumes included) and ``accepted`` (the checked prices), so
layers above margin (market monitoring) see the data as it arrives without margin importing them.
An observer that fails is logged and skipped: monitoring must never stop the risk engine.

Exactly once: transitions are recorded through ``services.margin_transitions_record`` before
anything of their accounts is pushed (in a fall, the watched accounts' in the step and the others'
right after its pushes: ``_watched_first``, ``settle``); on start the engine is rebuilt from the
tables and ``revalue_all`` re-detects whatever happened while no engine ran.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime
import functools
import gc
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

import numpy as np
from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone
from django.utils.module_loading import import_string

from margin import changes, contracts, rules, selectors, services, status, volatility, watching
from margin import engine as engine_mod
from margin.engine import MalformedTick, TickResult
from margin.feed import Feed, FeedRow, Tick
from margin.models import Instrument, MarginAccount, MarginCall, Position
from margin.rules import DEFAULT_LINES, Level, Lines
from portal import calendars

logger = logging.getLogger(__name__)


# Between ticks the runner looks this often for accounts a service changed (one cache read).
CHANGES_POLL_SECONDS = 0.05
RELOAD_OVERLAP = datetime.timedelta(seconds=2)
# A tick bringing at least this many transitions (a fall) has the statuses its recording cannot
# change built in a thread of their own while it is recorded (``_Prebuild``).
PREBUILD_TRANSITIONS = 500
# A tick bringing at least this many transitions, the runner pushing to watched accounts only,
# has the watched accounts' transitions recorded first and the rest after the pushes
# (``_watched_first``, ``settle``).
WATCHED_FIRST_TRANSITIONS = 500
# Recording that rest is tried this many times (a database restarting), then given up, as a
# step's failed recording is: the engine adopts the tables' levels and finds them again.
SETTLE_ATTEMPTS = 3


class RowRejected(ValueError):
    pass


class RiskRunner:
    def __init__(
        self,
        *,
        feed: Feed,
        partition: int = 0,
        partitions: int = 1,
        push_interval: float = 1.0,
        reload_interval: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        push_to_watched_only: bool = False,
    ) -> None:
        self.feed = feed
        self.partition, self.partitions = partition, partitions
        self.push_interval, self.reload_interval = push_interval, reload_interval
        self.clock = clock
        self.push_to_watched_only = push_to_watched_only
        self.epoch = uuid.uuid4().hex[:12]
        self.engine: Any = None
        self.rejected = 0
        self._changed: set[int] = set()
        # Whether ``run`` hears each announced account on ``changes.CHANNEL`` (see ``step``).
        self.announcements_heard = False
        self.observers: list[Callable[..., Any]] = [
            import_string(path) for path in getattr(settings, "MARGIN_TICK_OBSERVERS", ())
        ]

    # --- state ------------------------------------------------------------------------------------

    def start(self) -> list:
        """Build the engine from the tables and record what changed while none was running."""
        # The trading calendar loaded now, not by the first fall, which opens the calls and needs
        # their deadlines; first, so that a failure leaves the runner as it was.
        calendars.warm()
        gc.unfreeze()  # a rebuild: the previous engine's objects may be collected now
        self.engine = selectors.load_from_db(partition=self.partition, partitions=self.partitions)
        self._load_meta()
        # Per engine row (the engine's account order): the push state of each account.
        n = self.engine.account_count
        self._seq = np.zeros(n, dtype=np.int64)
        self._last_push = np.full(n, -np.inf)
        self._pushed_severity = np.full(n, -1, dtype=np.int8)
        self._dirty = np.ones(n, dtype=bool)
        self._cached = np.zeros(n, dtype=bool)  # a status of this run is in the cache
        self._next_chart = np.zeros(n)  # wall-clock time of the next chart point
        self._last_at: dict[str, datetime.datetime] = {}
        self._last_reload = self.clock()
        self._reload_since = timezone.now()
        self._changes_mark = changes.mark()
        self._urgent: set[int] = set()
        self._sell_costs: dict[int, Any] = {}
        self._prebuilt: dict[int, tuple[int, dict[str, Any]]] | None = None
        # A fall's transitions left for after its pushes (``settle``). A rebuild drops them:
        # ``revalue_all`` below finds them again against the tables' levels and records them.
        self._deferred: _Deferred | None = None
        self._reloads_waiting: float | None = None  # the clock of a step whose reloads wait
        self._settle_failures = 0
        self._last_tick_at: datetime.datetime | None = None
        self.ewma = volatility.Ewma(len(self._codes))
        result = self.engine.revalue_all()
        events = self._record(result)
        if self.push_to_watched_only:
            # Nobody is shown a status this run did not build: the cache's older copies go, and
            # only a level change or a watcher makes a status due.
            status.forget(self.engine.account_ids)
            self._pushed_severity[:] = self.engine.book().severity
        # The book's hundreds of thousands of long-lived objects (holdings, lines, numbers) out of
        # the collector's reach: a fall allocates tens of thousands of rows and dicts, and each
        # full collection they set off walked the whole book again (issue 19).
        gc.freeze()
        return events

    def _load_meta(self) -> None:
        accounts = selectors.accounts_in_partition(
            partition=self.partition, partitions=self.partitions
        )
        self._accounts = dict(accounts.values_list("id", "number"))
        self._lines: dict[int, Lines] = selectors.contract_lines(list(self._accounts))
        self._holdings: dict[int, dict[str, int]] = {}
        for account_id, code, quantity in Position.objects.filter(
            account_id__in=self._accounts
        ).values_list("account_id", "instrument__code", "quantity"):
            self._holdings.setdefault(account_id, {})[code] = quantity
        self._instruments = {i.code: i for i in Instrument.objects.all()}
        self._codes = list(self._instruments)
        self._prices = {code: i.price for code, i in self._instruments.items()}
        self._limits = {code: i.price_limits() for code, i in self._instruments.items()}
        self._high_risk_rate = selectors.high_risk_collateral_rate()

    # --- one step ---------------------------------------------------------------------------------

    def step(self, now: float | None = None) -> list[tuple[str, dict[str, Any]]]:
        """Record what the last step left for after its pushes (``settle``), take the feed's
        next tick if any, reload changed accounts, return the pushes due."""
        with _no_collection():
            return self._step(now)

    def settle(self) -> list:
        """Record the transitions the last step left for after its pushes (``_watched_first``);
        return the events stored. ``run`` calls it once the pushes are published; a step, a
        refresh or a reload calls it first, so nothing is taken or reloaded before the last fall
        is recorded. Should recording fail, they stay to be recorded by the next call (what
        was recorded meanwhile is found recorded, and skipped: ``margin_transitions_record``),
        ``SETTLE_ATTEMPTS`` times in all; then they are given up, the engine adopting the
        levels the tables hold for their accounts (``_adopt_recorded``), so that the next
        revaluation finds them again and a failure that lasts does not stop the engine."""
        deferred, self._deferred = self._deferred, None
        if deferred is None:
            return []
        result, occurred_at, account_ids = deferred
        try:
            with _no_collection():
                events = self._record(result, occurred_at)
        except Exception:
            self._settle_failures += 1
            if self._settle_failures < SETTLE_ATTEMPTS:
                self._deferred = deferred
                raise
            # A failure that lasts must not stop the engine: as when a step's recording fails,
            # the rest is given up, and the engine adopts what the tables hold for its accounts
            # so that their next revaluation finds their levels again.
            self._settle_failures, self._reloads_waiting = 0, None  # reloads: the next step's
            logger.exception(
                "The rest of a fall (%d accounts) was not recorded in %d attempts; the engine "
                "adopts the levels the tables hold for them and finds them again",
                len(account_ids),
                SETTLE_ATTEMPTS,
            )
            self._adopt_recorded(account_ids)
            self.engine.unrecord_concentration(result.concentration)
            return []
        except BaseException:
            self._deferred = deferred
            raise
        self._settle_failures = 0
        # The step's reloads, kept waiting for this: their statuses go out with the next pushes.
        waiting, self._reloads_waiting = self._reloads_waiting, None
        if waiting is not None:
            self._reload_due(waiting)
        return events

    def _adopt_recorded(self, account_ids: np.ndarray) -> None:
        """The levels and event numbers the tables hold for these accounts, into the engine."""
        try:
            recorded = MarginAccount.objects.filter(pk__in=account_ids.tolist()).values_list(
                "pk", "current_level", "event_sequence"
            )
            for account_id, level, sequence in recorded:
                self.engine.resync(account_id, level=level, sequence=sequence)
        except Exception:
            logger.exception("The levels of %d accounts could not be read", len(account_ids))

    def _step(self, now: float | None) -> list[tuple[str, dict[str, Any]]]:
        now = self.clock() if now is None else now
        self.settle()
        self._prebuilt = None  # built ahead in this step only (say the last one failed midway)
        tick = self.feed.poll()
        if tick is not None:
            self.apply(tick, now=now)
        if self._deferred is None:
            self._reload_due(now)
        else:
            # A fall's rest is recorded after this step's pushes: the reloads wait for it, as
            # they would change accounts whose transitions are not recorded yet, and ``settle``
            # does them right after it (so a fall every step starves none of them).
            self._reloads_waiting = now
        self._chart()
        return self.due_pushes(now)

    def _reload_due(self, now: float) -> None:
        """Reload the accounts marked changed, and those a service stamped (with the instruments
        whose risk status changed) when announced or every ``reload_interval``."""
        if self._changed:
            changed, self._changed = self._changed, set()
            self._reload(
                selectors.accounts_in_partition(
                    partition=self.partition, partitions=self.partitions
                ).filter(id__in=changed)
            )
        changed = not self.announcements_heard and self.accounts_changed()
        if changed or now - self._last_reload >= self.reload_interval:
            self.reload_changed()
            self._last_reload = now

    def accounts_changed(self) -> bool:
        """Whether a service announced a changed account since the last look (``margin.changes``:
        a fill), so the engine reloads it now rather than at its next periodic look."""
        mark = changes.mark()
        if mark == self._changes_mark:
            return False
        self._changes_mark = mark
        return True

    def refresh(
        self, now: float | None = None, account_ids: Iterable[int] | None = None
    ) -> list[tuple[str, dict[str, Any]]]:
        """Between ticks: reload the changed accounts and return their pushes (no tick taken).

        ``account_ids``: the accounts announced on ``changes.CHANNEL``, reloaded alone (those of
        other partitions ignored); without them, every account stamped since the last look."""
        now = self.clock() if now is None else now
        self.settle()
        if account_ids is None:
            self.reload_changed()
            self._last_reload = now
        else:
            wanted = {int(a) for a in account_ids} | self._changed
            self._changed = set()
            if wanted:
                self._reload(
                    selectors.accounts_in_partition(
                        partition=self.partition, partitions=self.partitions
                    ).filter(id__in=wanted)
                )
        return self.due_pushes(now)

    def mark_accounts_changed(self, account_ids: Iterable[int]) -> None:
        """Reload these accounts (balances, positions, lines) at the next step, without waiting
        for the periodic reload: e.g. right after a fill. Accounts of other partitions are
        ignored."""
        self._changed.update(int(a) for a in account_ids)

    def apply(self, tick: Tick, now: float | None = None) -> TickResult | None:
        """Check each row, apply the good ones as one tick, record transitions.

        ``now`` (the step's clock): with it, a fall's statuses that its recording cannot change
        are built while it is recorded (``_Prebuild``), for ``due_pushes`` to hand out after."""
        if tick.new_day_closes:
            self._new_day(tick.new_day_closes)
        accepted: dict[str, Decimal] = {}
        for row in tick.rows:
            try:
                accepted[row.code] = self._check(row, accepted)
            except RowRejected as error:
                self.rejected += 1
                logger.warning("Feed row rejected, not applied: %s (%r)", error, row)
        if not accepted:
            return None
        try:
            result = self.engine.tick(accepted)
        except MalformedTick as error:  # the checks above should make this unreachable
            self.rejected += len(accepted)
            logger.error("Tick rejected by the engine, not applied: %s", error)
            return None
        for code in accepted:
            self._last_at[code] = tick.at
        self._update_volatility(accepted, tick.at)
        self._prices.update(accepted)
        self._save_prices(
            accepted, tick.at, {row.code: row.volume for row in tick.rows if row.code in accepted}
        )
        self._mark(result.account_ids)
        occurred_at = timezone.now()
        first, later = self._watched_first(result)
        if later is not None:  # before recording the first part: should that fail, kept
            self._deferred = _Deferred.of(later, occurred_at)
        prebuild = self._prebuild(result, now)
        try:
            events = self._record(first, occurred_at)
        finally:
            if prebuild is not None:
                prebuild.thread.join()
        if prebuild is not None and prebuild.built is not None:
            self._prebuilt = prebuild.usable(first, events)
        self._notify(tick, accepted)
        return result

    def _watched_first(self, result: TickResult) -> tuple[TickResult, TickResult | None]:
        """A fall's transitions as (those to record now, those to record after the pushes).

        Pushing to watched accounts only, a tick with ``WATCHED_FIRST_TRANSITIONS`` or more
        has the transitions, restorations and concentration crossings of the watched accounts
        (and of a client's own fill, ``_urgent``) recorded first: every status pushed is built
        after its account's change has committed, as before, and the connected clients see it
        without waiting for the thousands of accounts nobody watches. Those go after the pushes
        (``settle``), before anything else is taken or reloaded; meanwhile their pages read the
        tables, which still hold the level before the tick, as they did while a step recorded
        it, and no status of theirs is pushed (``_due``), not even to a client who opened the
        page in between: it goes out once recorded.
        All at once otherwise, and while the watch list cannot be read (a socket may be open
        for any account)."""
        if not self.push_to_watched_only or len(result.transitions) < WATCHED_FIRST_TRANSITIONS:
            return result, None
        watched = self._watched()
        if watched is None:
            return result, None
        first = watched | self._urgent

        def split(items: list) -> tuple[list, list]:
            now = [item for item in items if item.account_id in first]
            return now, [item for item in items if item.account_id not in first]

        transitions, later_transitions = split(result.transitions)
        restorations, later_restorations = split(result.restorations)
        concentration, later_concentration = split(result.concentration)
        if not (later_transitions or later_restorations or later_concentration):
            return result, None
        return (
            dataclasses.replace(
                result,
                transitions=transitions,
                restorations=restorations,
                concentration=concentration,
            ),
            dataclasses.replace(
                result,
                transitions=later_transitions,
                restorations=later_restorations,
                concentration=later_concentration,
            ),
        )

    def _notify(self, tick: Tick, accepted: dict[str, Decimal]) -> None:
        for observer in self.observers:
            try:
                observer(runner=self, tick=tick, accepted=accepted)
            except Exception:
                logger.exception("Tick observer %r failed; the engine carries on", observer)

    @property
    def instruments(self) -> dict[str, Instrument]:
        """The instruments this runner prices, by code, with their latest prices."""
        return self._instruments

    def _check(self, row: FeedRow, accepted: dict[str, Decimal]) -> Decimal:
        if row.code not in self._instruments:
            raise RowRejected(f"unknown instrument {row.code!r}")
        if row.code in accepted:
            raise RowRejected(f"{row.code} twice in one tick")
        last = self._last_at.get(row.code)
        if last is not None and row.at <= last:
            raise RowRejected(f"stale price for {row.code}: {row.at} is not after {last}")
        if isinstance(row.price, float):
            raise RowRejected(f"float price for {row.code}: prices are exact decimals")
        try:
            price = row.price if isinstance(row.price, Decimal) else Decimal(str(row.price).strip())
            fen = rules.to_fen(price, f"price of {row.code}")
        except (InvalidOperation, TypeError, ValueError) as error:
            raise RowRejected(f"malformed price for {row.code}: {row.price!r} ({error})") from None
        low, high = self._limits[row.code]
        if not rules.to_fen(low, "low") <= fen <= rules.to_fen(high, "high"):
            raise RowRejected(f"{row.code} at {price} is outside today's limits {low}–{high}")
        return rules.from_fen(fen)

    def _new_day(self, closes) -> None:
        for code, close in closes.items():
            instrument = self._instruments.get(code)
            if instrument is None:
                continue
            instrument.previous_close = close
            self._limits[code] = instrument.price_limits()
        Instrument.objects.bulk_update(
            [self._instruments[c] for c in closes if c in self._instruments], ["previous_close"]
        )

    def _save_prices(
        self, prices: dict[str, Decimal], at: datetime.datetime, volumes: dict[str, int]
    ) -> None:
        """The tick's prices, and the volume each row reported (0: none; the simulated venue
        fills at most a share of it), on the instruments."""
        changed = []
        for code, price in prices.items():
            instrument = self._instruments[code]
            instrument.last_price, instrument.last_price_at = price, at
            instrument.last_volume = volumes.get(code, 0)
            changed.append(instrument)
        if connection.vendor != "postgresql":
            Instrument.objects.bulk_update(changed, ["last_price", "last_price_at", "last_volume"])
            return
        # One statement for the whole tick: bulk_update's CASE with a branch per symbol took
        # 1.8 s for 4,000 symbols (issue 19); joining arrays takes milliseconds.
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE margin_instrument AS i SET last_price = v.price, last_price_at = %s, "
                "last_volume = v.volume "
                "FROM unnest(%s::varchar[], %s::numeric[], %s::bigint[]) AS v(code, price, volume) "
                "WHERE i.code = v.code",
                [
                    at,
                    list(prices),
                    [str(p) for p in prices.values()],
                    [volumes.get(code, 0) for code in prices],
                ],
            )

    def _update_volatility(self, prices: dict[str, Decimal], at: datetime.datetime) -> None:
        previous = np.array([float(self._prices[c]) for c in self._codes])
        current = np.array([float(prices.get(c, self._prices[c])) for c in self._codes])
        gap = (at - self._last_tick_at).total_seconds() if self._last_tick_at else 60.0
        self._last_tick_at = at
        # Gaps over lunch or a night count as one step: the clock is market time, not wall time.
        minutes = min(max(gap / 60, 1 / 60), 15)
        self.ewma.update(np.log(current / previous), minutes / volatility.TRADING_MINUTES_PER_YEAR)
        if self.ewma.observations >= volatility.WARM_UP and self.ewma.observations % 60 == 0:
            market = self.ewma.market_volatility
            services.volatility_regime_propose(
                regime=volatility.regime_for(market),
                market_volatility=volatility.as_decimal(market),
            )

    def _record(self, result: TickResult, occurred_at: datetime.datetime | None = None) -> list:
        if not (result.transitions or result.restorations or result.concentration):
            return []
        events = services.margin_transitions_record(
            engine=self.engine, result=result, occurred_at=occurred_at or timezone.now()
        )
        self._mark(
            [
                c.account_id
                for c in (*result.transitions, *result.restorations, *result.concentration)
            ]
        )
        return events

    def _mark(self, account_ids: Any) -> None:
        """These accounts' values or levels changed: their statuses are due (see due_pushes), and
        any built ahead of the change is not."""
        if len(account_ids):
            rows = self.engine.rows_of(account_ids)
            self._dirty[rows] = True
            if self._prebuilt:
                for row in np.asarray(rows).tolist():
                    self._prebuilt.pop(row, None)

    def _prebuild(self, result: TickResult, now: float | None) -> _Prebuild | None:
        """Start building, in a thread of its own, the statuses due now that the recording of
        ``result`` cannot change: not those of accounts falling to or leaving the call or
        liquidation line (a call, a reduce-only restriction), restored (a call met) or crossing a
        concentration limit. Only for a fall (``PREBUILD_TRANSITIONS``) on PostgreSQL outside any
        transaction of the caller's: the thread reads on its own connection what the tables
        hold, and the recording changes nothing it reads. None publishes them before the
        recording has committed: ``due_pushes`` hands them out after, each only if nothing
        changed its account meanwhile (``_Prebuild.usable``, ``_mark``)."""
        self._prebuilt = None
        if (
            now is None
            or len(result.transitions) < PREBUILD_TRANSITIONS
            or connection.vendor != "postgresql"
            or connection.in_atomic_block
        ):
            return None
        touched = {r.account_id for r in result.restorations}
        touched.update(c.account_id for c in result.concentration)
        lines = (Level.CALL, Level.LIQUIDATION)
        touched.update(
            t.account_id for t in result.transitions if t.to_level in lines or t.from_level in lines
        )
        due = self._due(now, self._watched() if self.push_to_watched_only else None)
        book = self.engine.book()
        if touched:
            due &= ~np.isin(book.account_ids, np.fromiter(touched, dtype=np.int64))
        rows = np.flatnonzero(due)
        if not len(rows):
            return None
        prebuild = _Prebuild(self, rows, book.severity[rows].copy(), self._seq[rows] + 1)
        prebuild.thread.start()
        return prebuild

    def _due(self, now: float, marked: set[int] | None) -> np.ndarray:
        """Whether each engine row's status is due now, ``marked``: the watched accounts (when
        ``push_to_watched_only``; None if the list could not be read)."""
        book = self.engine.book()
        level_changed = book.severity != self._pushed_severity
        rested = (now - self._last_push) >= self.push_interval
        if not self.push_to_watched_only:
            due = self._dirty & (level_changed | rested)
        else:
            watched = np.isin(book.account_ids, np.fromiter(marked or (), dtype=np.int64))
            if marked is None:
                due = self._dirty & (level_changed | (watched & rested))
            else:
                due = self._dirty & watched & (level_changed | rested)
        if self._deferred is not None:
            # Not before their transitions are recorded (``settle`` marks them due again): a
            # client who opened the page meanwhile, or every level change while the watch list
            # cannot be read, would be shown a level the tables do not hold yet.
            due &= ~np.isin(book.account_ids, self._deferred.account_ids)
        return due

    def reload_changed(self) -> None:
        """Reload accounts whose balances, positions or contract terms a service changed since
        the last look, and instruments whose risk status changed."""
        # The overlap re-reads accounts stamped just before the last look whose transaction
        # committed after it (their stamp is older than their commit); reloading twice is harmless.
        self.settle()
        since, self._reload_since = self._reload_since - RELOAD_OVERLAP, timezone.now()
        self._reload_instruments(since)
        self._reload(
            selectors.accounts_in_partition(
                partition=self.partition, partitions=self.partitions
            ).filter(state_changed_at__gte=since)
        )

    def _reload(self, accounts) -> None:
        self.settle()
        changed = list(accounts.values_list("id", "cash", "debt", "accrued_interest", "fees_owed"))
        for account_id, cash, debt, interest, fees in changed:
            if account_id not in self._accounts:
                self.start()  # a new account: rebuilding is simplest, and rare
                return
            holdings = dict(
                Position.objects.filter(account_id=account_id).values_list(
                    "instrument__code", "quantity"
                )
            )
            self._holdings[account_id] = holdings
            lines = selectors.contract_lines([account_id]).get(account_id, DEFAULT_LINES)
            if lines != self._lines.get(account_id, DEFAULT_LINES):
                self._lines[account_id] = lines
                self._record(self.engine.set_lines(account_id, lines))
            result = self.engine.replace_holdings(
                account_id,
                holdings,
                cash=cash,
                liabilities=rules.total_liabilities(
                    debt=debt, accrued_interest=interest, fees_owed=fees
                ),
                prices={code: self._prices[code] for code in holdings},
                collateral={code: self._rate(code) for code in holdings},
            )
            self._record(result)
            self._mark([account_id])
            self._urgent.add(account_id)
            self._sell_costs.pop(account_id, None)

    def _rate(self, code: str) -> Decimal:
        return selectors.collateral_rate_of(self._instruments[code], self._high_risk_rate)

    def _reload_instruments(self, since: datetime.datetime) -> None:
        """An instrument's risk status changed (ST, suspension, eligibility): its holders are
        revalued at its new collateral rate at once."""
        rate = selectors.high_risk_collateral_rate()
        changed = list(Instrument.objects.filter(status_changed_at__gte=since))
        if rate != self._high_risk_rate:  # a new fee schedule: every high-risk instrument
            self._high_risk_rate = rate
            changed = list(Instrument.objects.all())
        if not changed:
            return
        for instrument in changed:
            known = self._instruments.get(instrument.code)
            if known is not None:
                instrument.last_price = known.last_price  # the feed's price stands
            self._instruments[instrument.code] = instrument
            self._limits[instrument.code] = instrument.price_limits()  # ST narrows the band
        result = self.engine.set_collateral({i.code: self._rate(i.code) for i in changed})
        self._record(result)
        self._mark(result.account_ids)

    # --- pushes -----------------------------------------------------------------------------------

    def due_pushes(self, now: float) -> list[tuple[str, dict[str, Any]]]:
        """The statuses due now, built, cached (one write for the batch) and returned.

        Due: an account whose values changed, and whose level differs from the one last pushed
        (at once), or whose last push is ``push_interval`` old. When ``push_to_watched_only``,
        only if someone watches it (``margin.watching``): nobody would receive the others, and
        their cached copies are dropped, so their pages read the tables, where the step has just
        recorded the new level; an account watched later is pushed at once if its level moved
        meanwhile. Should the watch list be unreadable (Redis restarting), every level change is
        pushed, as a socket may be open for any account. Chosen over the engine's arrays, so an
        idle account costs nothing.
        """
        prebuilt, self._prebuilt = self._prebuilt or {}, None
        if not self._dirty.any():
            return []
        book = self.engine.book()
        if self.push_to_watched_only:
            marked = self._watched()
            watched = np.isin(book.account_ids, np.fromiter(marked or (), dtype=np.int64))
            due = self._due(now, marked)
            stale = self._dirty & ~due & ~watched & self._cached
            if stale.any():
                status.forget(book.account_ids[stale].tolist())
                self._cached[stale] = False
        else:
            due = self._due(now, None)
        if self._urgent:  # the client's own fill: shown at once, whatever the interval
            urgent = np.isin(book.account_ids, np.fromiter(self._urgent, dtype=np.int64))
            due |= self._dirty & urgent
            self._urgent.clear()
        rows = np.flatnonzero(due)
        if not len(rows):
            return []
        seqs = (self._seq[rows] + 1).tolist()
        ready = [prebuilt.get(row) for row in rows.tolist()]
        # Built ahead (``_prebuild``) and still right: the same number; the others built now.
        kept = [r is not None and r[0] == seq for r, seq in zip(ready, seqs, strict=True)]
        build = rows[~np.array(kept, dtype=bool)]
        built = iter(self._build(build, (self._seq[build] + 1).tolist()))
        payloads = [
            r[1] if k and r is not None else next(built) for r, k in zip(ready, kept, strict=True)
        ]
        self._seq[rows] += 1
        pushes = [(status.group_name(p["account_id"]), p) for p in payloads]
        status.store_many(payloads)
        self._dirty[rows] = False
        self._cached[rows] = True
        self._last_push[rows] = now
        self._pushed_severity[rows] = book.severity[rows]
        return pushes

    def _build(self, rows: np.ndarray, seqs: list[int]) -> list[dict[str, Any]]:
        """The statuses of these engine rows with these numbers, their calls, restrictions and
        selling costs read from the tables now."""
        if not len(rows):
            return []
        book = self.engine.book()
        ids = book.account_ids[rows].tolist()
        calls = {
            account_id: {"deadline": deadline.isoformat(), "issued_at": issued.isoformat()}
            for account_id, deadline, issued in selectors.of_accounts(
                MarginCall.objects.filter(status=MarginCall.Status.OPEN), ids
            ).values_list("account_id", "deadline", "issued_at")
        }
        restrictions = selectors.restrictions_by_account(ids)
        warned = book.severity[rows] >= Level.WARNING.severity
        self._read_sell_costs([i for i, w in zip(ids, warned.tolist(), strict=True) if w])
        return self.statuses_of(rows, calls=calls, restrictions=restrictions, seqs=seqs)

    def _watched(self) -> set[int] | None:
        """The watched accounts; None when the list cannot be read (Redis restarting)."""
        try:
            return watching.watched()
        except Exception:
            logger.warning("Watched accounts unavailable", exc_info=True)
            return None

    def _chart(self) -> None:
        """Today's chart point of every account with debt, every ``status.HISTORY_EVERY``.

        Spread over the interval by account id, so each tick writes a slice of the book rather
        than all of it every thirty seconds (all of it once, at start-up)."""
        wall = timezone.now()
        stamp = wall.timestamp()
        book = self.engine.book()
        due = (self._next_chart <= stamp) & (book.ratio_bp != engine_mod.NO_RATIO)
        if not due.any():
            return
        rows = np.flatnonzero(due)
        every = status.HISTORY_EVERY.total_seconds()
        first = self._next_chart[rows] == 0
        spread = np.where(first, book.account_ids[rows] % int(every), 0)
        self._next_chart[rows] = stamp + every + spread
        at = wall.isoformat()
        status.record_history(
            (account_id, at, f"{bp // 10_000}.{bp % 10_000:04d}")
            for account_id, bp in zip(
                book.account_ids[rows].tolist(), book.ratio_bp[rows].tolist(), strict=True
            )
        )

    def statuses_of(
        self,
        rows: np.ndarray,
        *,
        calls: dict[int, dict],
        restrictions: dict[int, dict],
        seqs: list[int],
    ) -> list[dict[str, Any]]:
        """The statuses of the accounts at these engine rows, built as one batch from the
        engine's arrays (``status.build_many``): each equal to ``status_of``'s."""
        book = self.engine.book()
        accounts = []
        codes: set[str] = set()
        warning = Level.WARNING.severity
        known_costs = self._sell_costs.get
        for account_id, cash, owed, severity, seq in zip(
            book.account_ids[rows].tolist(),
            book.cash_fen[rows].tolist(),
            book.liabilities_fen[rows].tolist(),
            book.severity[rows].tolist(),
            seqs,
            strict=True,
        ):
            level = engine_mod.LEVELS[severity]
            holdings = self._holdings.get(account_id, {})
            codes.update(holdings)
            # ``_sell_costs_of``, without its call where the batch read them (``_read_sell_costs``).
            costs = known_costs(account_id) if severity >= warning else None
            if costs is None and severity >= warning:
                costs = self._sell_costs_of(account_id, level)
            accounts.append(
                status.Account(
                    account_id=account_id,
                    number=self._accounts[account_id],
                    cash_fen=cash,
                    liabilities_fen=owed,
                    lines=self._lines.get(account_id, DEFAULT_LINES),
                    level=level,
                    holdings=list(holdings.items()),
                    call=calls.get(account_id),
                    restrictions=restrictions[account_id],
                    seq=seq,
                    sell_costs=costs,
                )
            )
        return status.build_many(
            accounts, {code: self._holding(code, 0) for code in codes}, epoch=self.epoch
        )

    def _holding(self, code: str, quantity: int) -> status.Holding:
        """The status's view of one holding at the runner's latest price and limits."""
        instrument = self._instruments[code]
        return status.Holding(
            code=code,
            name_zh=instrument.name_zh,
            name_en=instrument.name_en,
            quantity=quantity,
            price=self._prices[code],
            limit_down=self._limits[code][0],
            collateral_rate=self._rate(code),
            high_risk=instrument.high_risk,
            suspended=instrument.suspended,
            flags=selectors.instrument_flags(instrument),
        )

    def status_of(
        self,
        account_id: int,
        *,
        call: dict | None = None,
        restrictions: dict | None = None,
        seq: int | None = None,
    ) -> dict[str, Any]:
        snapshot = self.engine.snapshot(account_id)
        if seq is None:
            row = int(self.engine.rows_of([account_id])[0])
            self._seq[row] += 1
            seq = int(self._seq[row])
        holdings = [
            self._holding(code, quantity)
            for code, quantity in self._holdings.get(account_id, {}).items()
        ]
        return status.build(
            account_id=account_id,
            number=self._accounts[account_id],
            cash=snapshot.cash,
            liabilities=snapshot.liabilities,
            lines=self._lines.get(account_id, DEFAULT_LINES),
            level=snapshot.level,
            holdings=holdings,
            call=call,
            restrictions=restrictions,
            seq=seq,
            epoch=self.epoch,
            sell_costs=self._sell_costs_of(account_id, snapshot.level),
        )

    def _sell_costs_of(self, account_id: int, level: Level) -> Any:
        """The selling costs of the account's fee schedule, for the amount to sell its status
        tells (at the warning line and below); read once per account and run, again after the
        account is reloaded (a rollover may change its schedule)."""
        if level.severity < Level.WARNING.severity:
            return None
        found = self._sell_costs.get(account_id)
        if found is None:
            found = self._sell_costs[account_id] = contracts.sell_costs_by_account([account_id])[
                account_id
            ]
        return found

    def _read_sell_costs(self, account_ids: list[int]) -> None:
        """Read the selling costs of these accounts at once (a batch of statuses)."""
        missing = [a for a in account_ids if a not in self._sell_costs]
        if missing:
            self._sell_costs.update(contracts.sell_costs_by_account(missing))

    # --- the loop ---------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event, *, tick_interval: float = 1.0) -> None:
        """Start, then step every ``tick_interval`` seconds until ``stop`` is set."""
        from margin.push import Publisher

        heard = _Announcements()
        await heard.subscribe()  # before the start: what changes meanwhile is heard
        await asyncio.to_thread(self._in_thread, self.start)
        publisher = Publisher()
        try:
            while not stop.is_set():
                started = time.monotonic()
                # Subscribed, each announced account is reloaded as its message lands, and the
                # periodic look catches a lost message; only without it is the counter read.
                self.announcements_heard = heard.live
                try:
                    pushes = await asyncio.to_thread(self._in_thread, self.step)
                except Exception:
                    logger.exception("Risk engine step failed; retrying on the next tick")
                    pushes = []
                await publisher.publish([payload for _, payload in pushes])
                try:
                    await asyncio.to_thread(self._in_thread, self.settle)
                except Exception:
                    logger.exception("Recording the rest of a fall failed; the next step retries")
                delay = max(0.0, tick_interval - (time.monotonic() - started))
                await self._wait_for_tick(stop, delay, publisher, heard)
        finally:
            await heard.close()

    async def _wait_for_tick(
        self, stop: asyncio.Event, delay: float, publisher: Any, heard: _Announcements | None = None
    ) -> None:
        """Sleep until the next tick is due, reloading and pushing at once any account a service
        announced as changed meanwhile (``margin.changes``: a client's fill).

        Subscribed to the announcements' channel, the runner sleeps on it and wakes when a
        message lands, reloading just the accounts it names; without it (no Redis, or the
        subscription down) it reads the counter every ``CHANGES_POLL_SECONDS``."""
        until = time.monotonic() + delay
        while not stop.is_set():
            left = until - time.monotonic()
            if left <= 0:
                return
            ids = await heard.wait(min(left, 0.5)) if heard is not None else None
            if ids is None:  # not subscribed: look at the counter
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=min(left, CHANGES_POLL_SECONDS))
                if stop.is_set() or not self.accounts_changed():
                    continue
                refresh = self.refresh
            elif not ids:
                continue
            else:
                refresh = functools.partial(self.refresh, account_ids=ids)
            try:
                pushes = await asyncio.to_thread(self._in_thread, refresh)
            except Exception:
                logger.exception("Reloading changed accounts failed; the next step retries")
                continue
            await publisher.publish([payload for _, payload in pushes])

    @staticmethod
    def _in_thread(func: Callable[[], Any]) -> Any:
        close_old_connections()
        try:
            return func()
        finally:
            close_old_connections()


class _Deferred(NamedTuple):
    """A fall's transitions left for after the step's pushes (``RiskRunner._watched_first``):
    their result, the moment they are recorded at (the tick's, as the first part's), and their
    accounts (kept out of the pushes until recorded)."""

    result: TickResult
    occurred_at: datetime.datetime
    account_ids: np.ndarray

    @classmethod
    def of(cls, result: TickResult, occurred_at: datetime.datetime) -> _Deferred:
        ids = {
            item.account_id
            for item in (*result.transitions, *result.restorations, *result.concentration)
        }
        return cls(result, occurred_at, np.fromiter(ids, dtype=np.int64))


@contextlib.contextmanager
def _no_collection() -> Iterator[None]:
    """No cyclic garbage collection inside: a fall's tens of thousands of rows, dicts and
    statuses set off collection after collection (seconds of an 8% fall at 100,000 accounts,
    bench/tick_to_screen.py's "gc"), while nearly all of them are freed by their reference
    counts; what is left is collected once it is over."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class _Prebuild:
    """The statuses ``RiskRunner._prebuild`` builds while a fall is recorded: ``thread`` builds
    them (``RiskRunner._build``) on its own connection, closed after; ``built`` is None if that
    failed (logged: ``due_pushes`` then builds them all, as without it)."""

    def __init__(
        self, runner: RiskRunner, rows: np.ndarray, severity: np.ndarray, seqs: np.ndarray
    ) -> None:
        self.runner, self.rows, self.severity, self.seqs = runner, rows, severity, seqs
        self.built: list[dict[str, Any]] | None = None
        self.thread = threading.Thread(target=self._run, name="status-prebuild", daemon=True)

    def _run(self) -> None:
        try:
            self.built = self.runner._build(self.rows, self.seqs.tolist())
        except Exception:
            logger.warning("Statuses not built ahead of the recording", exc_info=True)
        finally:
            connection.close()

    def usable(self, result: TickResult, events: list) -> dict[int, tuple[int, dict[str, Any]]]:
        """The statuses still right once ``result`` is recorded, by engine row: (number,
        status). Not those whose account the recording re-evaluated (a transition the database
        disagreed about, resynced) or found recorded before, nor any whose level moved."""
        assert self.built is not None
        recorded = {(e.account_id, e.sequence) for e in events}
        redone = [t.account_id for t in result.transitions
                  if (t.account_id, t.sequence) not in recorded]  # fmt: skip
        engine = self.runner.engine
        skip = set(engine.rows_of(redone).tolist()) if redone else set()
        severity = engine.book().severity[self.rows]
        return {
            row: (seq, payload)
            for row, seq, payload, same in zip(
                self.rows.tolist(),
                self.seqs.tolist(),
                self.built,
                (severity == self.severity).tolist(),
                strict=True,
            )
            if same and row not in skip
        }


class _Announcements:
    """The runner's subscription to ``changes.CHANNEL`` (Redis only): ``wait`` sleeps until a
    message lands and returns the ids of every message waiting; None while not subscribed (the
    runner then reads the counter), retrying the subscription at most every few seconds."""

    RETRY_SECONDS = 5.0

    def __init__(self) -> None:
        from margin.push import redis_url

        self.url = redis_url()
        self._client: Any = None
        self._pubsub: Any = None
        self._next_try = 0.0

    @property
    def live(self) -> bool:
        return self._pubsub is not None

    async def subscribe(self) -> Any:
        if self._pubsub is not None or not self.url or time.monotonic() < self._next_try:
            return self._pubsub
        try:
            import redis.asyncio as redis

            self._client = redis.from_url(self.url, socket_connect_timeout=1, protocol=2)
            pubsub = self._client.pubsub(ignore_subscribe_messages=True)
            await pubsub.subscribe(changes.channel())
            self._pubsub = pubsub
        except Exception:
            logger.warning("Cannot subscribe to changed accounts; polling", exc_info=True)
            await self.close()
            self._next_try = time.monotonic() + self.RETRY_SECONDS
        return self._pubsub

    async def wait(self, timeout: float) -> list[int] | None:
        pubsub = await self.subscribe()
        if pubsub is None:
            return None
        ids: list[int] = []
        try:
            message = await pubsub.get_message(timeout=timeout)
            while message is not None:
                if message.get("type") == "message":
                    ids += changes.parse(message["data"])
                message = await pubsub.get_message(timeout=0)
        except Exception:
            logger.warning("Changed accounts subscription lost; polling", exc_info=True)
            await self.close()
            self._next_try = time.monotonic() + self.RETRY_SECONDS
            return ids or None
        return ids

    async def close(self) -> None:
        pubsub, client, self._pubsub, self._client = self._pubsub, self._client, None, None
        with contextlib.suppress(Exception):
            if pubsub is not None:
                await pubsub.aclose()
        with contextlib.suppress(Exception):
            if client is not None:
                await client.aclose()
