// Microsoft's Node.js device SDK as a device: it registers with DPS (azure-iot-provisioning-device
// over HTTPS) by TPM, X.509 or symmetric-key attestation, then connects to the IoT hub DPS
// assigned (azure-iot-device with the MQTT transport) and sends one message. Run against the
// emulator, it shows that what the emulator sends (the TPM challenge blob above all) and accepts
// is what Azure's own clients expect.
//
//   node device.js --attestation tpm|x509|symmetric --provisioning-host HOST --id-scope SCOPE ...
//
// prints, one JSON object per line on stdout, {"registration": <the SDK's registration state>}
// and, unless --no-hub, {"sent": true} once the hub acknowledged the message. The SDK dials DPS
// on port 443 and the hub on 8883 and takes host names without a port; trust a private CA with
// NODE_EXTRA_CA_CERTS. A symmetric key comes from DEVICE_SYMMETRIC_KEY (never the command line).
//
// A TPM is reached through the Microsoft simulator's TCP protocol (for swtpm: internal/mssim in
// front of it). The SDK's TpmSecurityClient reads the keys persisted at 0x81010001 and 0x81000001
// and creates them with its own templates (empty unique fields) only when absent: whoever reads
// a fresh TPM first decides which keys the other sees. With --ek-only it prints what the client
// reads (EK and SRK as TPM2B_PUBLIC, size prefix included, base64, and the registration ID it
// derives) and exits.
//
// Errors go to stderr with exit status 1; usage errors exit 2.
'use strict';

const fs = require('node:fs');
const { parseArgs } = require('node:util');
const tss = require('tss.js');
const { TpmSecurityClient, TpmAuthenticationProvider } = require('azure-iot-security-tpm');
const { X509Security } = require('azure-iot-security-x509');
const { SymmetricKeySecurityClient } = require('azure-iot-security-symmetric-key');
const { ProvisioningDeviceClient } = require('azure-iot-provisioning-device');
const { Http } = require('azure-iot-provisioning-device-http');
const { Client, Message } = require('azure-iot-device');
const { Mqtt } = require('azure-iot-device-mqtt');
const { NoRetry } = require('azure-iot-common');

// tss.js allocates with the deprecated Buffer constructor; the warning would bury real errors.
process.noDeprecation = true;

const usage = `usage: node device.js --ek-only [TPM options]
       node device.js --attestation tpm|x509|symmetric --provisioning-host HOST --id-scope SCOPE [options]
  --ek-only             print the EK, the SRK and the registration ID the TPM client reads, then exit
  --attestation KIND    register by tpm, x509 or symmetric key attestation
  --provisioning-host   DPS's host name, without a port (the SDK dials 443)
  --id-scope SCOPE      the ID scope to register under
  --registration-id ID  the registration ID (x509: the certificate's CN; tpm: instead of the derived one)
  --cert FILE --key FILE  the X.509 device certificate (chain) and its private key, PEM
  --no-hub              stop after registering: no hub connection, no message
  --tpm-host HOST       the simulator protocol's host (default 127.0.0.1)
  --tpm-port PORT       its TPM command port; the platform port is PORT+1 (default 2321)
environment: DEVICE_SYMMETRIC_KEY (symmetric: the device's base64 key), NODE_EXTRA_CA_CERTS
`;

// How long everything may take; a server that accepts but never answers must fail the run, not
// hang it.
const timeoutMs = 120000;

function describe(err) {
  let s = err && err.stack ? err.stack : String(err);
  // The SDK's errors carry DPS's or the hub's answer: the part that says why.
  if (err && err.response && err.response.statusCode) {
    s += `\nHTTP ${err.response.statusCode} ${JSON.stringify(err.response.headers)}`;
  }
  if (err && err.transportError) {
    s += `\ntransport error: ${describe(err.transportError)}`;
  }
  return s;
}

function fail(err) {
  process.stderr.write(`device.js: ${describe(err)}\n`);
  process.exit(1);
}

function usageError(msg) {
  process.stderr.write(`device.js: ${msg}\n${usage}`);
  process.exit(2);
}

function print(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

// call turns a Node-style callback method of the SDK into a promise.
function call(obj, method, ...args) {
  return new Promise((resolve, reject) => {
    obj[method](...args, (err, result) => (err ? reject(err) : resolve(result)));
  });
}

// simulatorTpm is tss.js on the simulator protocol at host:port. TpmSecurityClient ignores the
// error its connect reports (and would go on to send commands on a dead connection), so a failed
// connect ends the run here with tss.js's own message.
function simulatorTpm(host, port) {
  const tpm = new tss.Tpm(true, host, port);
  const connect = tpm.connect.bind(tpm);
  tpm.connect = (continuation) =>
    connect((err) => (err ? fail(new Error(`connecting to the TPM at ${host}:${port}: ${err.message || err}`)) : continuation()));
  return tpm;
}

// readKeys asks the TPM security client for what DPS TPM attestation sends.
async function readKeys(client) {
  const ek = await call(client, 'getEndorsementKey');
  const srk = await call(client, 'getStorageRootKey');
  const registrationId = await call(client, 'getRegistrationId');
  return {
    registrationId,
    endorsementKey: Buffer.from(ek).toString('base64'),
    storageRootKey: Buffer.from(srk).toString('base64'),
  };
}

// device is, for one attestation, the SDK's security client for DPS and how to make the hub
// client once DPS assigned the device.
function device(values, tpm) {
  const registrationId = values['registration-id'];
  switch (values.attestation) {
    case 'tpm': {
      const security = new TpmSecurityClient(registrationId, tpm);
      return {
        security,
        // As Microsoft's TPM sample does: the TPM signs the hub SAS tokens with the key DPS
        // sealed to it, imported when the registration completed.
        hubClient: (state) => Client.fromAuthenticationProvider(
          TpmAuthenticationProvider.fromTpmSecurityClient(state.deviceId, state.assignedHub, security), Mqtt),
      };
    }
    case 'x509': {
      if (!values.cert || !values.key || !registrationId) {
        usageError('--attestation x509 needs --cert, --key and --registration-id (the certificate\'s CN)');
      }
      const cert = { cert: fs.readFileSync(values.cert, 'utf8'), key: fs.readFileSync(values.key, 'utf8') };
      return {
        security: new X509Security(registrationId, cert),
        hubClient: (state) => {
          const client = Client.fromConnectionString(`HostName=${state.assignedHub};DeviceId=${state.deviceId};x509=true`, Mqtt);
          client.setOptions(cert);
          return client;
        },
      };
    }
    case 'symmetric': {
      const key = process.env.DEVICE_SYMMETRIC_KEY;
      if (!key || !registrationId) {
        usageError('--attestation symmetric needs --registration-id and DEVICE_SYMMETRIC_KEY');
      }
      return {
        security: new SymmetricKeySecurityClient(registrationId, key),
        hubClient: (state) => Client.fromConnectionString(
          `HostName=${state.assignedHub};DeviceId=${state.deviceId};SharedAccessKey=${key}`, Mqtt),
      };
    }
    default:
      return usageError(`--attestation ${values.attestation}: want tpm, x509 or symmetric`);
  }
}

// sendOne connects to the hub, sends one message with an application property naming the
// attestation, and disconnects.
async function sendOne(client, attestation) {
  client.setRetryPolicy(new NoRetry());
  await client.open();
  const msg = new Message(JSON.stringify({ hello: 'from the Node device SDK' }));
  msg.messageId = `node-${attestation}`;
  msg.properties.add('attestation', attestation);
  await client.sendEvent(msg);
  await client.close();
}

async function main() {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        'ek-only': { type: 'boolean', default: false },
        attestation: { type: 'string' },
        'provisioning-host': { type: 'string' },
        'id-scope': { type: 'string' },
        'registration-id': { type: 'string' },
        cert: { type: 'string' },
        key: { type: 'string' },
        'no-hub': { type: 'boolean', default: false },
        'tpm-host': { type: 'string', default: '127.0.0.1' },
        'tpm-port': { type: 'string', default: '2321' },
      },
    }));
  } catch (err) {
    usageError(err.message);
  }
  const port = Number(values['tpm-port']);
  if (!Number.isInteger(port) || port < 1 || port > 65534) {
    usageError(`--tpm-port ${values['tpm-port']}: want a port below 65535 (the platform port is one above it)`);
  }
  if (!values['ek-only'] && (!values.attestation || !values['provisioning-host'] || !values['id-scope'])) {
    usageError('want --ek-only, or --attestation, --provisioning-host and --id-scope');
  }

  process.on('uncaughtException', fail);
  setTimeout(() => fail(new Error(`not done within ${timeoutMs / 1000}s`)), timeoutMs).unref();

  const useTpm = values['ek-only'] || values.attestation === 'tpm';
  const tpm = useTpm ? simulatorTpm(values['tpm-host'], port) : undefined;
  try {
    if (values['ek-only']) {
      print(await readKeys(new TpmSecurityClient(values['registration-id'], tpm)));
      return;
    }
    const dev = device(values, tpm);
    const registration = ProvisioningDeviceClient.create(values['provisioning-host'], values['id-scope'], new Http(), dev.security);
    const result = await registration.register();
    // The TPM registration answers with the whole operation, the others with its state.
    const state = result.registrationState || result;
    print({ registration: state });
    if (values['no-hub']) {
      return;
    }
    if (state.status !== 'assigned') {
      throw new Error(`registration ended ${state.status}, not assigned: no hub to connect to`);
    }
    await sendOne(dev.hubClient(state), values.attestation);
    print({ sent: true });
  } finally {
    if (tpm) {
      tpm.close();
    }
  }
}

// The hub client and the TPM's token renewal keep timers: leave once done.
main().then(() => process.exit(0), fail);
