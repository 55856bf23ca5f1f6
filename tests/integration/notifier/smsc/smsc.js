// A test SMSC for the notifier's SMPP gateway, built on the `smpp` package's server (node-smpp,
// written by others). It records every PDU it receives (raw bytes and fields), answers
// submit_sm, throttles or refuses on demand, drops the link on demand, and sends a delivery
// receipt (deliver_sm) for every message it accepted. Scripted over a small HTTP API:
//
//   GET  /pdus                  every PDU received, oldest first
//   GET  /sessions              the bound sessions
//   GET  /stats                 the most submit_sm a session had unanswered at once
//   POST /plan {phone, answers: ["ok"|"slow"|"throttle"|"queue-full"|"status:0x0B"|"silent"|
//               "drop"],
//               receipt: "DELIVRD"|"UNDELIV"|"EXPIRED"|"REJECTD"|...|"none"}
//   POST /drop {after: N}       drop the link at the N-th submit_sm from now (it and every PDU
//                               already on the wire are taken but not answered)
//
// node smsc.js --port P --control-port C [--system-id ID --password PW] [--receipt-delay-ms MS]
//              [--tls-key key.pem --tls-cert cert.pem]
'use strict';

const fs = require('fs');
const http = require('http');
const smpp = require('smpp');

const args = {};
for (let i = 2; i < process.argv.length; i += 2) {
  args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
}
const PORT = Number(args.port || 2775);
const CONTROL_PORT = Number(args['control-port'] || 2776);
const SYSTEM_ID = args['system-id'] || 'amman';
const PASSWORD = args.password || 'secret';
const RECEIPT_DELAY_MS = Number(args['receipt-delay-ms'] || 100);

// ---- recording: keep the raw bytes of every PDU as it came off the wire --------------------
const received = [];
// The PDU constructor reads a received PDU from its buffer: keep a copy of the bytes.
const originalFromBuffer = smpp.PDU.prototype.fromBuffer;
smpp.PDU.prototype.fromBuffer = function (buffer) {
  this._raw = Buffer.from(buffer);
  return originalFromBuffer.call(this, buffer);
};

let sessionCounter = 0;
const sessions = new Map(); // id -> session (bound transceivers)
const plans = new Map(); // phone -> {answers: [], receipt}
let dropAfter = null;
let maxOutstanding = 0; // the most submit_sm one session had unanswered at once
let messageCounter = 0;
const pendingReceipts = []; // receipts waiting for a bound session

function messageText(pdu) {
  const sm = pdu.short_message;
  if (sm && typeof sm === 'object' && 'message' in sm) {
    return Buffer.isBuffer(sm.message) ? sm.message.toString('latin1') : String(sm.message);
  }
  return '';
}

function record(session, pdu) {
  const entry = {
    session: session._id,
    command: pdu.command,
    command_status: pdu.command_status,
    sequence_number: pdu.sequence_number,
    raw: pdu._raw ? pdu._raw.toString('hex') : null,
    at: Date.now(),
  };
  if (pdu.command === 'submit_sm' || pdu.command === 'deliver_sm_resp') {
    for (const key of ['source_addr', 'source_addr_ton', 'source_addr_npi', 'destination_addr',
      'dest_addr_ton', 'dest_addr_npi', 'esm_class', 'data_coding', 'registered_delivery',
      'sar_msg_ref_num', 'sar_total_segments', 'sar_segment_seqnum']) {
      if (pdu[key] !== undefined) entry[key] = pdu[key];
    }
    if (pdu.command === 'submit_sm') {
      const sm = pdu.short_message || {};
      entry.udh = sm.udh ? sm.udh.map((u) => u.toString('hex')) : [];
      entry.text = messageText(pdu);
    }
  }
  if (pdu.command === 'bind_transceiver') entry.system_id = pdu.system_id;
  received.push(entry);
  return entry;
}

function pad(n) {
  return String(n).padStart(2, '0');
}

function smppDate(d) {
  return `${pad(d.getUTCFullYear() % 100)}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}` +
    `${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}`;
}

const STATES = { ENROUTE: 1, DELIVRD: 2, EXPIRED: 3, DELETED: 4, UNDELIV: 5, ACCEPTD: 6, UNKNOWN: 7, REJECTD: 8 };

function queueReceipt(message, stat) {
  pendingReceipts.push({ message, stat });
  setTimeout(flushReceipts, RECEIPT_DELAY_MS);
}

function flushReceipts() {
  const targets = [...sessions.values()].filter((s) => s._bound && !s._dropping);
  if (!targets.length) return; // sent when a session binds
  while (pendingReceipts.length) {
    const { message, stat } = pendingReceipts.shift();
    const session = targets[0];
    const now = new Date();
    const text = `id:${message.id} sub:001 dlvrd:${stat === 'DELIVRD' ? '001' : '000'} ` +
      `submit date:${smppDate(message.at)} done date:${smppDate(now)} stat:${stat} ` +
      `err:${stat === 'DELIVRD' ? '000' : '001'} text:${message.text.slice(0, 20)}`;
    session.deliver_sm({
      source_addr: message.destination_addr,
      source_addr_ton: 1,
      source_addr_npi: 1,
      destination_addr: message.source_addr,
      esm_class: 0x04,
      data_coding: 0,
      short_message: Buffer.from(text, 'latin1'),
      receipted_message_id: message.id,
      message_state: STATES[stat] || 7,
    }, (resp) => {
      if (resp.command_status !== 0) {
        // Not recorded by the ESME: send it again later, as an SMSC does.
        setTimeout(() => queueReceipt(message, stat), 500);
      }
    });
  }
}

function accept(pdu) {
  messageCounter += 1;
  const message = {
    id: `smsc-${messageCounter}`,
    destination_addr: pdu.destination_addr,
    source_addr: pdu.source_addr,
    text: messageText(pdu),
    at: new Date(),
  };
  const plan = plans.get(`+${pdu.destination_addr}`);
  const stat = plan && plan.receipt ? plan.receipt : 'DELIVRD';
  if (pdu.registered_delivery & 0x01 && stat !== 'none') queueReceipt(message, stat);
  return message;
}

function drop(session) {
  session._dropping = true;
  session.pause();
  // Whatever the ESME already wrote is taken (recorded, accepted, receipted) but not answered.
  setTimeout(() => {
    session._swallow = true;
    session.resume();
    session.destroy();
  }, 200);
}

function onSession(session) {
  session._id = ++sessionCounter;
  session.on('pdu', (pdu) => record(session, pdu));
  session.on('error', () => {});
  session.on('close', () => {
    sessions.delete(session._id);
  });
  session.on('bind_transceiver', (pdu) => {
    if (pdu.system_id !== SYSTEM_ID) {
      session.send(pdu.response({ command_status: smpp.ESME_RINVSYSID }));
      return;
    }
    if (pdu.password !== PASSWORD) {
      session.send(pdu.response({ command_status: smpp.ESME_RINVPASWD }));
      return;
    }
    session.send(pdu.response({ system_id: 'test-smsc' }));
    session._bound = true;
    sessions.set(session._id, session);
    setTimeout(flushReceipts, 50);
  });
  session.on('enquire_link', (pdu) => {
    if (!session._dropping) session.send(pdu.response());
  });
  session.on('unbind', (pdu) => {
    session.send(pdu.response());
    session._bound = false;
    sessions.delete(session._id);
    session.close();
  });
  session._outstanding = 0;
  session.on('submit_sm', (pdu) => {
    session._outstanding += 1;
    maxOutstanding = Math.max(maxOutstanding, session._outstanding);
    const respond = (options) => {
      session._outstanding -= 1;
      session.send(pdu.response(options));
    };
    if (session._swallow || session._dropping) {
      accept(pdu);
      return;
    }
    if (!session._bound) {
      respond({ command_status: smpp.ESME_RINVBNDSTS });
      return;
    }
    if (dropAfter !== null) {
      dropAfter -= 1;
      if (dropAfter <= 0) {
        dropAfter = null;
        accept(pdu);
        drop(session);
        return;
      }
    }
    const plan = plans.get(`+${pdu.destination_addr}`);
    const answer = plan && plan.answers.length ? plan.answers.shift() : 'ok';
    if (answer === 'throttle') {
      respond({ command_status: smpp.ESME_RTHROTTLED });
    } else if (answer === 'queue-full') {
      respond({ command_status: smpp.ESME_RMSGQFUL });
    } else if (answer.startsWith('status:')) {
      respond({ command_status: Number(answer.slice(7)) });
    } else if (answer === 'silent') {
      // Never answered, never delivered.
    } else if (answer === 'drop') {
      accept(pdu);
      drop(session);
    } else if (answer === 'slow') {
      const message = accept(pdu);
      setTimeout(() => respond({ message_id: message.id }), 300);
    } else {
      const message = accept(pdu);
      respond({ message_id: message.id });
    }
  });
}

const options = {};
if (args['tls-key'] && args['tls-cert']) {
  options.key = fs.readFileSync(args['tls-key']);
  options.cert = fs.readFileSync(args['tls-cert']);
}
const server = smpp.createServer(options, onSession);
server.on('error', (error) => {
  console.error(`smsc: ${error.message}`);
  process.exit(1);
});

function body(request) {
  return new Promise((resolve) => {
    let data = '';
    request.on('data', (chunk) => { data += chunk; });
    request.on('end', () => resolve(data ? JSON.parse(data) : {}));
  });
}

const control = http.createServer(async (request, response) => {
  const send = (status, value) => {
    response.writeHead(status, { 'Content-Type': 'application/json' });
    response.end(JSON.stringify(value));
  };
  try {
    if (request.method === 'GET' && request.url === '/pdus') return send(200, received);
    if (request.method === 'GET' && request.url === '/stats') {
      return send(200, { max_outstanding: maxOutstanding });
    }
    if (request.method === 'GET' && request.url === '/sessions') {
      return send(200, [...sessions.values()].map((s) => ({ id: s._id, bound: !!s._bound })));
    }
    const input = await body(request);
    if (request.method === 'POST' && request.url === '/plan') {
      plans.set(input.phone, { answers: input.answers || [], receipt: input.receipt });
      return send(200, { ok: true });
    }
    if (request.method === 'POST' && request.url === '/drop') {
      dropAfter = Number(input.after || 1);
      return send(200, { ok: true });
    }
    return send(404, { error: 'not found' });
  } catch (error) {
    return send(500, { error: String(error) });
  }
});

server.listen(PORT, '127.0.0.1', () => {
  control.listen(CONTROL_PORT, '127.0.0.1', () => {
    console.log(`smsc: SMPP on 127.0.0.1:${PORT}${options.key ? ' (TLS)' : ''}, control on 127.0.0.1:${CONTROL_PORT}`);
  });
});
process.on('SIGTERM', () => process.exit(0));
