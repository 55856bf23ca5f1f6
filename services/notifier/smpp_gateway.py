"""The SMPP 3.4 gateway (`NOTIFIER_GATEWAY=smpp`): one transceiver link to the provider's SMSC.

PDUs are built and read by **smpplib** (`smpplib.smpp.make_pdu` / `parse_pdu`); the link itself
is asyncio streams (TLS through `ssl`), because smpplib's own client is a blocking socket loop
(the notifier README compares the libraries). What this module adds is the session:

- **The link** (`SmppLink`): connect (TLS if set), `bind_transceiver` with the system id and
  password, then one reader that matches responses to requests by sequence number, answers
  the SMSC's `enquire_link`, `unbind` and `deliver_sm`, and an `enquire_link` every
  `NOTIFIER_SMPP_ENQUIRE_LINK_SECONDS`. A request unanswered within
  `NOTIFIER_SMPP_RESPONSE_TIMEOUT_SECONDS` drops the link: the SMSC is not answering.
- **The keeper** (`SmppGateway.run`, one of the service's loops): binds, and after a drop or a
  failed bind binds again after a backoff (`NOTIFIER_SMPP_REBIND_MIN_SECONDS` doubling up to
  `_MAX_`, with jitter). A bind refused for its credentials (`ESME_RINVPASWD`,
  `ESME_RINVSYSID`, `ESME_RBINDFAIL`) is logged as an error naming the setting to fix, makes
  `/health/ready` answer 503, and is tried again only every `_MAX_` seconds.
- **Sending** (`send`): at most `NOTIFIER_SMPP_WINDOW` submits await their responses at once;
  the parts of a long message after the first also wait for the rate limit. Answers map to the
  notifier's outcomes (`smpp.py`). A submit never written because the link was down waits for
  the next bind (up to `NOTIFIER_SMPP_BIND_WAIT_SECONDS`, then a temporary failure).
- **A submit written but never answered** (the link dropped, or the answer timed out): the SMSC
  may or may not have the message. `NOTIFIER_SMPP_UNANSWERED=hold` (the default) never sends it
  again: it is recorded `sent` (the reason says why), kept in `smpp_held`, and the first final
  receipt with an SMSC id the notifier does not know, for its number, decides it (the oldest held
  message of that number first); no receipt by `NOTIFIER_UNCONFIRMED_AFTER_SECONDS` makes it a
  temporary failure, retried as any other. `resubmit` (for a provider that drops duplicates)
  makes it a temporary failure at once.
- **Receipts**: each accepted part's SMSC message id is kept in `smpp_parts`; a final receipt
  is applied through the same use case as the HTTP receipts. A message of several parts is
  delivered when every part's receipt says so, and fails with the first failing part. A receipt
  the notifier cannot record (yet) is answered `ESME_RX_T_APPN`, so the SMSC sends it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import ssl
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from prometheus_client import Counter, Gauge
from smpplib import smpp as smpplib_pdu

from services.notifier import smpp
from services.notifier.domain import (
    Accepted,
    GatewayResult,
    PermanentFailure,
    ReceiptStatus,
    TemporaryFailure,
    mask_phone,
)
from services.notifier.gateways import OutgoingSms, RateLimiter
from services.notifier.store.smpp import DatabaseError, SmppStore

logger = logging.getLogger(__name__)

LINK_UP = Gauge("notifier_smpp_link_up", "1 while the SMPP link is bound")
BINDS = Counter("notifier_smpp_binds_total", "Bind attempts by outcome", ["outcome"])
UNANSWERED = Counter(
    "notifier_smpp_unanswered_total", "Submits left unanswered, by the rule applied", ["rule"]
)

Unanswered = Literal["hold", "resubmit"]
ApplyReceipt = Callable[[str, ReceiptStatus, str | None], Awaitable[Any]]

_MAX_PDU = 64 * 1024
_NOT_BOUND = -1  # `_submit`'s answer when no link came up within the bind wait


@dataclass(frozen=True)
class SmppConfig:
    host: str
    port: int
    system_id: str
    password: str
    system_type: str = ""
    source_addr: str = "AmmanCity"
    tls: bool = False
    tls_ca_file: str | None = None
    enquire_link_seconds: float = 30.0
    response_timeout_seconds: float = 10.0
    window: int = 10
    rebind_min_seconds: float = 1.0
    rebind_max_seconds: float = 60.0
    bind_wait_seconds: float = 10.0
    concatenation: smpp.Concatenation = "udh"
    unanswered: Unanswered = "hold"


class BindRefused(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(smpp.status_name(status))
        self.status = status


class LinkDown(Exception):
    """The link closed. `written`: the request had been written, so its outcome is unknown."""

    def __init__(self, written: bool) -> None:
        super().__init__("the SMPP link is down")
        self.written = written


class _Sequence:
    """smpplib asks its "client" for sequence numbers: 1 … 0x7FFFFFFF, then again."""

    def __init__(self) -> None:
        self.sequence = 0

    def next_sequence(self) -> int:
        self.sequence = self.sequence % 0x7FFFFFFF + 1
        return self.sequence


class _Reader:
    """A parse-only "client" (a parsed request must not use up the link's sequence numbers)."""

    sequence = 0

    def next_sequence(self) -> int:
        return 0


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return "" if value is None else str(value)


class SmppLink:
    """One bound transceiver session."""

    def __init__(
        self,
        config: SmppConfig,
        on_deliver: Callable[[Any], Awaitable[int]],
        on_accepted: Callable[[str], None] = lambda smsc_id: None,
    ) -> None:
        self._config = config
        self._on_deliver = on_deliver
        # Told each SMSC message id as its submit_sm_resp is read, before any later PDU.
        self._on_accepted = on_accepted
        self._sequence = _Sequence()
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._handlers: set[asyncio.Task[None]] = set()
        self.closed = asyncio.Event()
        self.smsc_system_id = ""

    @property
    def is_open(self) -> bool:
        return self._writer is not None and not self.closed.is_set()

    async def open(self) -> None:
        """Connect and bind; raises `BindRefused`, `OSError` or `TimeoutError`."""
        config = self._config
        context: ssl.SSLContext | None = None
        if config.tls:
            context = ssl.create_default_context(cafile=config.tls_ca_file)
        timeout = config.response_timeout_seconds
        self._reader, self._writer = await asyncio.wait_for(
            asyncio.open_connection(config.host, config.port, ssl=context, limit=_MAX_PDU),
            timeout,
        )
        self._tasks = [asyncio.create_task(self._read(), name="smpp:reader")]
        bind = self._pdu(
            "bind_transceiver",
            system_id=config.system_id,
            password=config.password,
            system_type=config.system_type,
            interface_version=0x34,
            addr_ton=0,
            addr_npi=0,
            address_range="",
        )
        try:
            response = await self.request(bind)
        except BaseException:
            await self.close(unbind=False)
            raise
        if response.status != smpp.ESME_ROK:
            await self.close(unbind=False)
            raise BindRefused(response.status)
        self.smsc_system_id = _text(getattr(response, "system_id", ""))
        self._tasks.append(asyncio.create_task(self._keep_alive(), name="smpp:enquire_link"))

    def _pdu(self, command: str, **fields: Any) -> Any:
        pdu = smpplib_pdu.make_pdu(command, client=self._sequence, **fields)
        if "sequence" in fields:
            # smpplib keeps its client's current number when given one: set it outright.
            pdu.sequence = fields["sequence"]
        return pdu

    def submit_pdu(self, **fields: Any) -> Any:
        return self._pdu("submit_sm", **fields)

    async def request(self, pdu: Any, wait_seconds: float | None = None) -> Any:
        """Send a request and return its response. Raises `LinkDown(written=False)` if the
        link was already down, `LinkDown(written=True)` if it dropped before the answer, and
        `TimeoutError` (after dropping the link) if the SMSC does not answer in time."""
        if self._writer is None or self.closed.is_set():
            raise LinkDown(written=False)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[pdu.sequence] = future
        try:
            self._writer.write(pdu.generate())
            await self._writer.drain()
        except (OSError, RuntimeError):
            self._pending.pop(pdu.sequence, None)
            await self.close(unbind=False)
            raise LinkDown(written=True) from None
        try:
            return await asyncio.wait_for(
                asyncio.shield(future), wait_seconds or self._config.response_timeout_seconds
            )
        except TimeoutError:
            logger.warning("SMPP: no answer to %s in time; dropping the link", pdu.command)
            await self.close(unbind=False)
            raise
        finally:
            self._pending.pop(pdu.sequence, None)

    async def _send(self, pdu: Any) -> None:
        if self._writer is None or self.closed.is_set():
            return
        try:
            self._writer.write(pdu.generate())
            await self._writer.drain()
        except (OSError, RuntimeError):
            await self.close(unbind=False)

    async def _read(self) -> None:
        assert self._reader is not None
        try:
            while True:
                header = await self._reader.readexactly(4)
                (length,) = struct.unpack(">L", header)
                if not 16 <= length <= _MAX_PDU:
                    logger.warning("SMPP: a PDU of %d octets; dropping the link", length)
                    break
                data = header + await self._reader.readexactly(length - 4)
                await self._dispatch(data)
        except (asyncio.IncompleteReadError, OSError, ssl.SSLError):
            pass
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("SMPP: cannot read from the SMSC; dropping the link")
        finally:
            self._lost()

    async def _dispatch(self, data: bytes) -> None:
        command_id, status, sequence = struct.unpack(">LLL", data[4:16])
        if command_id & 0x80000000:  # a response (generic_nack included)
            future = self._pending.get(sequence)
            if future is None or future.done():
                return
            try:
                response = smpplib_pdu.parse_pdu(data, client=_Reader())
            except Exception as error:  # a response smpplib cannot read: still an answer
                logger.warning("SMPP: unreadable response 0x%08X: %s", command_id, error)
                response = _Bare(status)
            if response.command == "submit_sm_resp" and status == smpp.ESME_ROK:
                self._on_accepted(_text(getattr(response, "message_id", "")))
            future.set_result(response)
            return
        try:
            request = smpplib_pdu.parse_pdu(data, client=_Reader())
        except Exception:
            request = None
        if request is None:
            nack = self._pdu("generic_nack", sequence=sequence, status=0x03)
            await self._send(nack)
            return
        if request.command == "enquire_link":
            await self._send(self._pdu("enquire_link_resp", sequence=sequence))
        elif request.command == "unbind":
            await self._send(self._pdu("unbind_resp", sequence=sequence))
            await self.close(unbind=False)
        elif request.command == "deliver_sm":
            task = asyncio.create_task(self._deliver(request, sequence))
            self._handlers.add(task)
            task.add_done_callback(self._handlers.discard)
        else:
            await self._send(self._pdu("generic_nack", sequence=sequence, status=0x03))

    async def _deliver(self, request: Any, sequence: int) -> None:
        try:
            status = await self._on_deliver(request)
        except Exception:
            logger.exception("SMPP: a deliver_sm could not be handled")
            status = smpp.ESME_RX_T_APPN
        await self._send(self._pdu("deliver_sm_resp", sequence=sequence, status=status))

    async def _keep_alive(self) -> None:
        while not self.closed.is_set():
            try:
                await asyncio.wait_for(self.closed.wait(), self._config.enquire_link_seconds)
                return
            except TimeoutError:
                pass
            try:
                await self.request(self._pdu("enquire_link"))
            except (LinkDown, TimeoutError):
                return

    def _lost(self) -> None:
        if self.closed.is_set():
            return
        self.closed.set()
        for future in self._pending.values():
            if not future.done():
                future.set_exception(LinkDown(written=True))
        if self._writer is not None:
            self._writer.close()

    async def close(self, *, unbind: bool = True) -> None:
        if unbind and self.is_open:
            with contextlib.suppress(LinkDown, TimeoutError):
                await self.request(self._pdu("unbind"), wait_seconds=2.0)
        self._lost()
        current = asyncio.current_task()
        # A receipt being handled is not answered now: the SMSC sends it again on a new link.
        for task in [*self._tasks, *self._handlers]:
            if task is not current and not task.done():
                task.cancel()
        for task in [*self._tasks, *self._handlers]:
            if task is not current:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if self._writer is not None:
            with contextlib.suppress(OSError, ssl.SSLError):
                await self._writer.wait_closed()


@dataclass
class _Bare:
    """A response smpplib could not parse: only its status is known."""

    status: int
    command: str = "unreadable"


class SmppGateway:
    """`NOTIFIER_GATEWAY=smpp`: see the module's docstring."""

    name = "smpp"

    def __init__(self, config: SmppConfig) -> None:
        self.config = config
        self._link: SmppLink | None = None
        self._bound = asyncio.Event()
        self._stopping = asyncio.Event()
        self._window = asyncio.Semaphore(config.window)
        self._store: SmppStore | None = None
        self._apply: ApplyReceipt | None = None
        self._limiter: RateLimiter | None = None
        # SMSC ids answered but not yet recorded: a receipt that overtakes the recording waits.
        self._recording: dict[str, asyncio.Event] = {}
        self.state: Literal["starting", "bound", "connecting", "refused"] = "starting"
        self.last_error: str | None = None
        self.binds = 0

    def attach(self, store: SmppStore, apply_receipt: ApplyReceipt, limiter: RateLimiter) -> None:
        """What the gateway needs from the service: where ids are kept, how a receipt is
        applied, and the rate limit (for the parts after a message's first)."""
        self._store = store
        self._apply = apply_receipt
        self._limiter = limiter

    # ---- health --------------------------------------------------------------------------

    def health(self) -> tuple[bool, dict[str, Any]]:
        """For `/health/ready`: unready only when the SMSC refused the credentials (an operator
        must act); a link being re-established is reported, and ready."""
        report: dict[str, Any] = {"state": self.state, "window": self.config.window}
        if self.last_error:
            report["error"] = self.last_error
        return self.state != "refused", report

    # ---- the link keeper (a loop of the service) ---------------------------------------

    async def run(self) -> None:
        delay = self.config.rebind_min_seconds
        while not self._stopping.is_set():
            link = SmppLink(self.config, self._on_deliver, self._being_recorded)
            try:
                await link.open()
            except BindRefused as refused:
                BINDS.labels("refused").inc()
                self._refused(refused)
                delay = self.config.rebind_max_seconds
            except (OSError, TimeoutError, LinkDown) as error:
                BINDS.labels("failed").inc()
                self.state = "connecting"
                self.last_error = (
                    f"cannot reach the SMSC at {self.config.host}:{self.config.port}: "
                    f"{type(error).__name__}{': ' + str(error) if str(error) else ''}"
                )
                logger.warning("SMPP: %s; binding again in %.1fs", self.last_error, delay)
            else:
                self._link = link
                self.binds += 1
                BINDS.labels("bound").inc()
                LINK_UP.set(1)
                self.state, self.last_error = "bound", None
                self._bound.set()
                logger.info(
                    "SMPP: bound as transceiver %r to %s:%d%s",
                    self.config.system_id,
                    self.config.host,
                    self.config.port,
                    " over TLS" if self.config.tls else "",
                )
                delay = self.config.rebind_min_seconds
                await self._wait_either(link.closed)
                self._bound.clear()
                LINK_UP.set(0)
                if self._stopping.is_set():
                    return
                self.state, self.last_error = "connecting", "the SMSC link dropped"
                logger.warning("SMPP: the link dropped; binding again in %.1fs", delay)
            await self._wait_either(None, delay * (0.5 + random.random() / 2))
            delay = min(delay * 2, self.config.rebind_max_seconds)

    def _refused(self, refused: BindRefused) -> None:
        self.state = "refused"
        what = {
            smpp.ESME_RINVPASWD: "the password (NOTIFIER_SMPP_PASSWORD) is wrong",
            smpp.ESME_RINVSYSID: "the system id (NOTIFIER_SMPP_SYSTEM_ID) is unknown",
        }.get(refused.status, "the bind was refused")
        self.last_error = f"the SMSC refused the bind: {what} ({refused})"
        logger.error(
            "SMPP: %s; nothing can be sent until it is fixed (trying again every %.0fs)",
            self.last_error,
            self.config.rebind_max_seconds,
        )

    async def _wait_either(self, event: asyncio.Event | None, seconds: float | None = None) -> None:
        waits = [asyncio.ensure_future(self._stopping.wait())]
        if event is not None:
            waits.append(asyncio.ensure_future(event.wait()))
        _, pending = await asyncio.wait(waits, timeout=seconds, return_when="FIRST_COMPLETED")
        for task in pending:
            task.cancel()

    def stop(self) -> None:
        """Bind no more; the open link stays until `close` (the sender may still need it)."""
        self._stopping.set()

    async def close(self) -> None:
        self._stopping.set()
        if self._link is not None:
            await self._link.close(unbind=True)

    # ---- sending ---------------------------------------------------------------------------

    async def _bound_link(self) -> SmppLink | None:
        link = self._link
        if self._bound.is_set() and link is not None and link.is_open:
            return link
        try:
            await asyncio.wait_for(self._bound.wait(), self.config.bind_wait_seconds)
        except TimeoutError:
            return None
        return self._link

    async def send(self, sms: OutgoingSms) -> GatewayResult:
        smsc_ids: list[str] = []
        try:
            return await self._send(sms, smsc_ids)
        finally:
            for smsc_id in smsc_ids:
                recorded = self._recording.pop(smsc_id, None)
                if recorded is not None:
                    recorded.set()

    async def _send(self, sms: OutgoingSms, smsc_ids: list[str]) -> GatewayResult:
        parts = smpp.make_parts(sms.text, sms.encoding, sms.reference, self.config.concatenation)
        unanswered: list[int] = []
        for number, part in enumerate(parts, start=1):
            if number > 1 and self._limiter is not None:
                await self._limiter.acquire()
            outcome = await self._submit(sms, part)
            if isinstance(outcome, str):
                smsc_ids.append(outcome)
                continue
            if outcome is None:
                UNANSWERED.labels(self.config.unanswered).inc()
                if self.config.unanswered == "resubmit":
                    return self._unanswered(number, len(parts))
                # Held: never sent again; the parts after it were never sent, so they go now.
                unanswered.append(number)
                continue
            if outcome == _NOT_BOUND:
                return TemporaryFailure(f"not bound to the SMSC: {self.last_error or 'binding'}")
            status = outcome
            where = f" (part {number} of {len(parts)})" if len(parts) > 1 else ""
            reason = f"the SMSC answered {smpp.status_name(status)}{where}"
            if status in smpp.TEMPORARY_STATUSES:
                return TemporaryFailure(reason)
            return PermanentFailure(reason)
        if self._store is not None and smsc_ids:
            await self._store.accepted(sms.reference, smsc_ids)
        provider_id = ",".join(smsc_ids)[:100] or None
        if not unanswered:
            if self._store is not None:
                await self._store.not_held(sms.reference)
            return Accepted(provider_id=provider_id)
        if self._store is not None:
            await self._store.hold(sms.reference, sms.phone, len(unanswered))
        logger.warning(
            "SMPP: SMS %s to %s: no answer to part(s) %s before the link dropped; held, not "
            "sent again",
            sms.reference,
            mask_phone(sms.phone),
            unanswered,
        )
        where = f" (part {unanswered[0]} of {len(parts)})" if len(parts) > 1 else ""
        return Accepted(
            provider_id=provider_id,
            reason=(
                f"the SMSC link dropped before its answer{where}: not sent again, awaiting "
                "its receipt"
            ),
        )

    async def _submit(self, sms: OutgoingSms, part: smpp.Part) -> str | int | None:
        """The SMSC's message id, its error status, or None when the answer never came."""
        while True:
            link = await self._bound_link()
            if link is None:
                return _NOT_BOUND
            async with self._window:
                fields: dict[str, Any] = {
                    "source_addr_ton": smpp.TON_ALPHANUMERIC,
                    "source_addr_npi": smpp.NPI_UNKNOWN,
                    "source_addr": self.config.source_addr,
                    "dest_addr_ton": smpp.TON_INTERNATIONAL,
                    "dest_addr_npi": smpp.NPI_ISDN,
                    "destination_addr": smpp.smpp_destination(sms.phone),
                    "esm_class": part.esm_class,
                    "registered_delivery": smpp.REGISTERED_DELIVERY_RECEIPT,
                    "data_coding": part.data_coding,
                    "short_message": part.short_message,
                }
                if part.sar_msg_ref_num is not None:
                    fields["sar_msg_ref_num"] = part.sar_msg_ref_num
                    fields["sar_total_segments"] = part.sar_total_segments
                    fields["sar_segment_seqnum"] = part.sar_segment_seqnum
                try:
                    response = await link.request(link.submit_pdu(**fields))
                except LinkDown as down:
                    if down.written:
                        return None
                    continue  # never left: wait for the next bind
                except TimeoutError:
                    return None
            if response.status != smpp.ESME_ROK:
                return int(response.status)
            return _text(getattr(response, "message_id", "")) or f"{sms.reference}:{id(part)}"

    def _unanswered(self, number: int, total: int) -> GatewayResult:
        where = f" (part {number} of {total})" if total > 1 else ""
        return TemporaryFailure(
            f"the SMSC link dropped before its answer{where}; sent again "
            "(NOTIFIER_SMPP_UNANSWERED=resubmit)"
        )

    # ---- receipts ------------------------------------------------------------------------

    async def _on_deliver(self, pdu: Any) -> int:
        esm_class = int(getattr(pdu, "esm_class", 0) or 0)
        if not esm_class & smpp.ESM_CLASS_RECEIPT:
            logger.info("SMPP: a mobile-originated message was received and ignored")
            return smpp.ESME_ROK
        receipted = getattr(pdu, "receipted_message_id", None)
        state = getattr(pdu, "message_state", None)
        receipt = smpp.parse_receipt(
            bytes(getattr(pdu, "short_message", b"") or b""),
            _text(getattr(pdu, "source_addr", "")),
            _text(receipted) or None,
            int(state) if isinstance(state, int) else None,
        )
        if receipt is None:
            logger.warning("SMPP: a delivery receipt that cannot be read was ignored")
            return smpp.ESME_ROK
        status = receipt.status
        if status is None:
            return smpp.ESME_ROK  # an intermediate state (ENROUTE, ACCEPTD)
        if self._store is None or self._apply is None:
            return smpp.ESME_RX_T_APPN
        try:
            found = await self._message_of(receipt)
            if found is None:
                # Perhaps another replica's submit, not recorded yet: the SMSC sends it again.
                logger.warning(
                    "SMPP: a %s receipt for unknown SMSC id %s; answered ESME_RX_T_APPN",
                    receipt.state,
                    receipt.smsc_message_id,
                )
                return smpp.ESME_RX_T_APPN
            reference, ids = found
            if status == "delivered" and not await self._store.all_delivered(
                receipt.smsc_message_id, ids
            ):
                return smpp.ESME_ROK  # more parts to come
            await self._apply(reference, status, receipt.reason)
        except (DatabaseError, LookupError, RuntimeError):
            logger.warning("SMPP: a receipt could not be recorded; the SMSC will send it again")
            return smpp.ESME_RX_T_APPN
        return smpp.ESME_ROK

    def _being_recorded(self, smsc_id: str) -> None:
        if smsc_id:
            self._recording.setdefault(smsc_id, asyncio.Event())

    async def _message_of(self, receipt: smpp.Receipt) -> tuple[str, list[str]] | None:
        """The receipt may overtake the recording of its own submit's answer (same link, next
        PDU): then it waits for that recording."""
        assert self._store is not None
        recording = self._recording.get(receipt.smsc_message_id)
        if recording is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(recording.wait(), self.config.response_timeout_seconds * 3)
        return await self._store.message_of(receipt)
