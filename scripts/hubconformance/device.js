'use strict';
// Runs Microsoft's Node.js device client (azure-iot-device with the azure-iot-device-mqtt
// transport) against an IoT Hub endpoint and prints one JSON line per step:
// {"step":…,"ok":bool,"result":…,"error":{"name","message"}}.
//
// Environment: DEVICE_CONNECTION_STRING (HostName=…;DeviceId=…;SharedAccessKey=…), and
// BAD_CONNECTION_STRING, the same device with a wrong key, which must be refused.
// The CA comes through NODE_EXTRA_CA_CERTS; the client connects to HostName on port 8883.

const { Client, Message } = require('azure-iot-device');
const { Mqtt } = require('azure-iot-device-mqtt');
const { NoRetry } = require('azure-iot-common');

function print(step, ok, result, err) {
  const line = { step, ok };
  if (result !== undefined) line.result = result;
  if (err) line.error = { name: err.name || err.constructor.name, message: String(err.message || err) };
  process.stdout.write(JSON.stringify(line) + '\n');
}

async function step(name, fn) {
  try {
    const result = await fn();
    print(name, true, result);
    return result;
  } catch (err) {
    print(name, false, undefined, err);
    return undefined;
  }
}

async function main() {
  const client = Client.fromConnectionString(process.env.DEVICE_CONNECTION_STRING, Mqtt);
  client.setRetryPolicy(new NoRetry());
  await step('open', () => client.open().then(() => ({})));

  await step('sendEvent', () => {
    const msg = new Message(JSON.stringify({ temperature: 21.5 }));
    msg.messageId = 'node-1';
    msg.contentType = 'application/json';
    msg.contentEncoding = 'utf-8';
    msg.properties.add('kind', 'conformance');
    msg.properties.add('note', 'a b+c');
    return client.sendEvent(msg).then(() => ({}));
  });

  const twin = await step('getTwin', () => client.getTwin().then((t) => ({
    desired: t.properties.desired,
    reported: t.properties.reported,
  })));

  await step('updateReported', () => client.getTwin().then((t) => new Promise((resolve, reject) => {
    t.properties.reported.update({ conformance: { sdk: 'azure-iot-device-mqtt', sawInterval: twin ? twin.desired.interval : null } }, (err) => {
      if (err) reject(err); else resolve({});
    });
  })));

  await step('getTwinAgain', () => client.getTwin().then((t) => ({
    reported: t.properties.reported,
  })));

  await step('close', () => client.close().then(() => ({})));

  const bad = Client.fromConnectionString(process.env.BAD_CONNECTION_STRING, Mqtt);
  bad.setRetryPolicy(new NoRetry());
  await step('openWithWrongKey', () => bad.open().then(() => bad.close().then(() => ({}))));
}

main().then(() => process.exit(0), (err) => {
  print('main', false, undefined, err);
  process.exit(1);
});
