// Microsoft's Node.js device SDK on a TPM behind the Microsoft simulator's TCP protocol (for
// swtpm: internal/mssim in front of it). With --ek-only it prints, as one JSON object on stdout,
// what the SDK's TpmSecurityClient reads or creates: the endorsement key and the storage root key
// (TPM2B_PUBLIC, size prefix included, base64) and the registration ID it derives from the EK.
// Errors go to stderr with exit status 1; usage errors exit 2.
//
// The client reads the keys persisted at 0x81010001 and 0x81000001 and creates them with its own
// templates (empty unique fields) only when absent: whoever reads a fresh TPM first decides
// which keys the other sees.
'use strict';

const { parseArgs } = require('node:util');
const tss = require('tss.js');
const { TpmSecurityClient } = require('azure-iot-security-tpm');

// tss.js allocates with the deprecated Buffer constructor; the warning would bury real errors.
process.noDeprecation = true;

const usage = `usage: node device.js --ek-only [--tpm-host HOST] [--tpm-port PORT] [--registration-id ID]
  --ek-only          print the EK, the SRK and the registration ID as JSON, then exit
  --tpm-host HOST    the simulator protocol's host (default 127.0.0.1)
  --tpm-port PORT    its TPM command port; the platform port is PORT+1 (default 2321)
  --registration-id  the registration ID to report instead of the one derived from the EK
`;

// How long the TPM may take to answer everything; a front-end that accepts but never answers
// must fail the run, not hang it.
const timeoutMs = 60000;

function fail(err) {
  process.stderr.write(`device.js: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
}

function usageError(msg) {
  process.stderr.write(`device.js: ${msg}\n${usage}`);
  process.exit(2);
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

// readKeys asks the security client for what DPS TPM attestation sends.
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

async function main() {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        'ek-only': { type: 'boolean', default: false },
        'tpm-host': { type: 'string', default: '127.0.0.1' },
        'tpm-port': { type: 'string', default: '2321' },
        'registration-id': { type: 'string' },
      },
    }));
  } catch (err) {
    usageError(err.message);
  }
  const port = Number(values['tpm-port']);
  if (!Number.isInteger(port) || port < 1 || port > 65534) {
    usageError(`--tpm-port ${values['tpm-port']}: want a port below 65535 (the platform port is one above it)`);
  }
  if (!values['ek-only']) {
    // Registration (ProvisioningDeviceClient.create(host, idScope, new Http(), client).register())
    // comes with the emulator's device API.
    usageError('only --ek-only is implemented');
  }

  process.on('uncaughtException', fail);
  setTimeout(() => fail(new Error(`the TPM at ${values['tpm-host']}:${port} did not answer within ${timeoutMs / 1000}s`)), timeoutMs).unref();

  const tpm = simulatorTpm(values['tpm-host'], port);
  const client = new TpmSecurityClient(values['registration-id'], tpm);
  try {
    const keys = await readKeys(client);
    process.stdout.write(JSON.stringify(keys) + '\n');
  } finally {
    tpm.close();
  }
}

main().catch(fail);
