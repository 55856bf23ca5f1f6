#!/usr/bin/env node
// A subscribing system's subscriber, written from the published contracts only
// (contracts/asyncapi.json and contracts/schemas/, see contracts/README.md): it never loads the
// platform's code.
//
// It connects with its own user, declares its own queue `<system>.all` (dead letters to its own
// `<system>.dlx` / `<system>.dead`), binds it to `amman.events` with `#`, and validates every
// event it receives: the whole message (envelope and data) with the AsyncAPI message of its
// `type`, and the data with the JSON Schema its `dataschema` names. It keeps a report (JSON) of
// what it saw: types, failures, unknown types, and every event by id with where it came from.
//
// With --replay-from <time> (or --replay-offset <n>) it first catches up from the stream
// `amman.events.history`, as contracts/README.md ("Replaying history") says: its queue is bound
// first (it collects from then on), the stream is read from the timestamp up to the first event
// its queue holds, then it switches to its queue; duplicates across the switch are dropped by id.
//
//   node subscriber.js --url amqp://civil_registry:pw@localhost:5672/%2F --system civil_registry \
//     --report report.json [--replay-from 2026-11-23T09:00:00Z | --replay-offset 0]
//
// It prints `READY` once it is consuming, rewrites the report after every event, and on SIGTERM
// or SIGINT writes it a last time and exits 0.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const amqp = require('amqplib');
const Ajv2020 = require('ajv/dist/2020');
const addFormats = require('ajv-formats');

const EXCHANGE = 'amman.events';
const STREAM = 'amman.events.history';
const TYPE_PREFIX = 'jo.gov.amman.';

function parseArgs(argv) {
  const args = {
    url: process.env.AMQP_URL,
    system: undefined,
    queue: undefined,
    binding: '#',
    report: 'report.json',
    contracts: path.resolve(__dirname, '..', '..'),
    replayFrom: undefined,
    replayOffset: undefined,
    // With its queue still empty, the stream is taken as read after this long without a message.
    replayIdleMs: 2000,
    prefetch: 50,
  };
  const names = {
    '--url': 'url',
    '--system': 'system',
    '--queue': 'queue',
    '--binding': 'binding',
    '--report': 'report',
    '--contracts': 'contracts',
    '--replay-from': 'replayFrom',
    '--replay-offset': 'replayOffset',
    '--replay-idle-ms': 'replayIdleMs',
    '--prefetch': 'prefetch',
  };
  for (let i = 2; i < argv.length; i += 2) {
    const key = names[argv[i]];
    if (!key || argv[i + 1] === undefined) throw new Error(`unknown or incomplete option ${argv[i]}`);
    args[key] = argv[i + 1];
  }
  if (!args.url) throw new Error('--url (or AMQP_URL) is required');
  if (!args.system || !/^[a-z0-9_]+$/.test(args.system)) {
    throw new Error('--system: lowercase letters, digits and _');
  }
  args.queue = args.queue || `${args.system}.all`;
  args.replayIdleMs = Number(args.replayIdleMs);
  args.prefetch = Number(args.prefetch);
  return args;
}

// ---- the contracts ---------------------------------------------------------------------------

// AsyncAPI components are not a JSON Schema document of their own: re-root them under `$defs` of
// one schema, so that the messages' `#/components/schemas/X` references resolve.
const COMPONENTS_ID = 'urn:jo:gov:amman:events:components';

function reroot(node) {
  if (Array.isArray(node)) return node.map(reroot);
  if (node && typeof node === 'object') {
    const out = {};
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string' && value.startsWith('#/components/schemas/')) {
        out[key] = `${COMPONENTS_ID}#/$defs/${value.slice('#/components/schemas/'.length)}`;
      } else {
        out[key] = reroot(value);
      }
    }
    return out;
  }
  return node;
}

function loadContracts(dir) {
  const asyncapi = JSON.parse(fs.readFileSync(path.join(dir, 'asyncapi.json'), 'utf8'));
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  addFormats(ajv);
  ajv.addSchema({ $id: COMPONENTS_ID, $defs: reroot(asyncapi.components.schemas) });
  // The data schemas, by their `$id` (the URL an event's `dataschema` carries).
  const dataSchemaIds = new Set();
  const schemaDir = path.join(dir, 'schemas');
  for (const file of fs.readdirSync(schemaDir).filter((name) => name.endsWith('.json')).sort()) {
    const schema = JSON.parse(fs.readFileSync(path.join(schemaDir, file), 'utf8'));
    ajv.addSchema(schema);
    dataSchemaIds.add(schema.$id);
  }
  // One validator per message type (the AMQP binding's messageType is the CloudEvents type),
  // compiled when the type is first received.
  const messages = new Map();
  for (const [name, message] of Object.entries(asyncapi.components.messages)) {
    const type = message.bindings.amqp.messageType;
    let validate;
    messages.set(type, {
      name,
      get validate() {
        validate = validate || ajv.compile({ $id: `urn:jo:gov:amman:events:message:${name}`, ...reroot(message.payload) });
        return validate;
      },
    });
  }
  return { ajv, messages, dataSchemaIds };
}

function errorsOf(validate) {
  return (validate.errors || []).map((e) => `${e.instancePath || '/'} ${e.message}`);
}

// ---- the report ------------------------------------------------------------------------------

class Report {
  constructor(file, args) {
    this.file = file;
    this.data = {
      system: args.system,
      queue: args.queue,
      replay: args.replayFrom || args.replayOffset || null,
      received: 0, // deliveries, duplicates included
      duplicates: 0, // deliveries dropped because their id was already handled
      types: {}, // type -> events handled
      failures: [], // {id, type, routing_key, via, errors}
      unknown_types: [], // types received that the published contracts do not describe
      events: [], // every event handled once: {id, type, via: "stream" | "queue", offset}
      replayed: 0,
      switched_at: null, // the id the stream was left at, for the queue
    };
    this.seen = new Set();
  }

  write() {
    const temporary = `${this.file}.tmp`;
    fs.writeFileSync(temporary, JSON.stringify(this.data, null, 2));
    fs.renameSync(temporary, this.file);
  }
}

function handle(contracts, report, message, via) {
  // Returns true when the event is valid (or a duplicate), false when it must be dead-lettered.
  report.data.received += 1;
  const routingKey = message.fields.routingKey;
  let event;
  try {
    event = JSON.parse(message.content.toString('utf8'));
  } catch (error) {
    report.data.failures.push({ id: message.properties.messageId || null, type: null, routing_key: routingKey, via, errors: [`not JSON: ${error.message}`] });
    return false;
  }
  const id = event && typeof event.id === 'string' ? event.id : null;
  if (id !== null && report.seen.has(id)) {
    report.data.duplicates += 1;
    return true;
  }
  if (id !== null) report.seen.add(id);
  const type = event && typeof event.type === 'string' ? event.type : null;
  const offset = message.properties.headers ? message.properties.headers['x-stream-offset'] : undefined;
  report.data.events.push({ id, type, via, ...(offset === undefined ? {} : { offset: Number(offset) }) });
  if (type !== null) report.data.types[type] = (report.data.types[type] || 0) + 1;
  const errors = [];
  const known = type !== null && contracts.messages.get(type);
  if (!known) {
    if (!report.data.unknown_types.includes(type)) report.data.unknown_types.push(type);
    errors.push(`no message in asyncapi.json for type ${JSON.stringify(type)}`);
  } else if (!known.validate(event)) {
    errors.push(...errorsOf(known.validate));
  }
  if (type !== null && via === 'queue' && routingKey !== type.slice(TYPE_PREFIX.length)) {
    errors.push(`routing key ${routingKey} is not the type's`);
  }
  const validateData = event && typeof event.dataschema === 'string' ? contracts.ajv.getSchema(event.dataschema) : undefined;
  if (!validateData || !contracts.dataSchemaIds.has(event.dataschema)) {
    if (known && !report.data.unknown_types.includes(type)) report.data.unknown_types.push(type);
    errors.push(`no published schema ${JSON.stringify(event && event.dataschema)}`);
  } else if (!validateData(event.data)) {
    errors.push(...errorsOf(validateData).map((e) => `data${e}`));
  }
  if (errors.length) {
    report.data.failures.push({ id, type, routing_key: routingKey, via, errors });
    return false;
  }
  return true;
}

// ---- the subscriber --------------------------------------------------------------------------

async function main() {
  const args = parseArgs(process.argv);
  const contracts = loadContracts(args.contracts);
  const report = new Report(args.report, args);
  report.write();
  let connection;
  const stop = async () => {
    report.write();
    try {
      if (connection) await connection.close();
    } finally {
      process.exit(0);
    }
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);

  connection = await amqp.connect(args.url);
  const channel = await connection.createChannel();
  await channel.prefetch(args.prefetch);

  // Its own dead letters, its own queue; amman.events only checked (passively), never declared.
  const dlx = `${args.system}.dlx`;
  await channel.assertExchange(dlx, 'fanout', { durable: true });
  await channel.assertQueue(`${args.system}.dead`, { durable: true });
  await channel.bindQueue(`${args.system}.dead`, dlx, '');
  await channel.assertQueue(args.queue, { durable: true, arguments: { 'x-dead-letter-exchange': dlx } });
  await channel.checkExchange(EXCHANGE);
  await channel.bindQueue(args.queue, EXCHANGE, args.binding);

  const settle = (message, via) => {
    const ok = handle(contracts, report, message, via);
    report.write();
    return ok;
  };

  let live = args.replayFrom === undefined && args.replayOffset === undefined;
  const buffered = []; // the queue's messages while the stream is replayed
  const bufferedIds = new Set();
  let switchToQueue;
  const switched = new Promise((resolve) => { switchToQueue = resolve; });

  await channel.consume(args.queue, (message) => {
    if (message === null) return;
    if (!live) {
      buffered.push(message);
      bufferedIds.add(message.properties.messageId || idOf(message));
      return;
    }
    if (settle(message, 'queue')) channel.ack(message);
    else channel.nack(message, false, false);
  }, { noAck: false });

  if (!live) {
    // A stream is read with manual acks and a prefetch (both required), on a channel of its own.
    const streamChannel = await connection.createChannel();
    await streamChannel.prefetch(args.prefetch);
    const offset = args.replayOffset !== undefined
      ? Number(args.replayOffset)
      : { '!': 'timestamp', value: Math.floor(toSeconds(args.replayFrom)) };
    let lastStreamMessage = Date.now();
    let done = false;
    const { consumerTag } = await streamChannel.consume(STREAM, (message) => {
      if (message === null || done) return;
      lastStreamMessage = Date.now();
      const id = message.properties.messageId || idOf(message);
      if (bufferedIds.has(id)) {
        // The stream reached what the queue holds: from here on the queue has every event.
        done = true;
        report.data.switched_at = id;
        streamChannel.ack(message);
        switchToQueue();
        return;
      }
      report.data.replayed += 1;
      settle(message, 'stream'); // an invalid historic event is reported; the stream keeps it
      streamChannel.ack(message);
    }, { noAck: false, arguments: { 'x-stream-offset': offset } });
    const idle = setInterval(() => {
      if (!done && buffered.length === 0 && Date.now() - lastStreamMessage > args.replayIdleMs) {
        done = true; // a quiet platform: the stream is read to its end, the queue is empty
        switchToQueue();
      }
    }, 100);
    console.log('READY');
    await switched;
    clearInterval(idle);
    await streamChannel.cancel(consumerTag);
    await streamChannel.close();
    live = true;
    for (const message of buffered.splice(0)) {
      if (settle(message, 'queue')) channel.ack(message);
      else channel.nack(message, false, false);
    }
    console.log('SWITCHED');
  } else {
    console.log('READY');
  }
}

function idOf(message) {
  try {
    return JSON.parse(message.content.toString('utf8')).id;
  } catch {
    return undefined;
  }
}

function toSeconds(value) {
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value);
  const millis = Date.parse(value);
  if (Number.isNaN(millis)) throw new Error(`--replay-from: not a time: ${value}`);
  return millis / 1000;
}

main().catch((error) => {
  console.error(error && error.stack ? error.stack : error);
  process.exit(1);
});
