'use strict';
// Drives Microsoft's azure-iot-provisioning-service client against a running dps-emulator and
// prints one JSON line per step: what the client saw (results, or errors with their status and
// body). The Go test in cmd/dps-emulator compares these lines with what the emulator holds.
//
// Usage: NODE_EXTRA_CA_CERTS=DIR/ca.pem node service.js DIR
// The connection string is read from DIR/service-connection-string, never from the command line.
// EK_BASE64, when set, is the endorsement key (TPM2B_PUBLIC, base64) of the TPM enrollments.
// GO_ENROLLMENT_ID, when set, names an enrollment another client made: the script reads it and its
// registration state (steps go-get, go-registration) for the caller to compare field by field.

const fs = require('fs');
const path = require('path');
const { ProvisioningServiceClient } = require('azure-iot-provisioning-service');

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node service.js DATA_DIR');
  process.exit(2);
}
const connectionString = fs.readFileSync(path.join(dir, 'service-connection-string'), 'utf8').trim();
const client = ProvisioningServiceClient.fromConnectionString(connectionString);
const prefix = process.env.CONFORMANCE_PREFIX || 'conf';
const ek = process.env.EK_BASE64;
const goId = process.env.GO_ENROLLMENT_ID;

function emit(step, fields) {
  process.stdout.write(JSON.stringify(Object.assign({ step }, fields)) + '\n');
}

function described(err) {
  let body = err.responseBody;
  try { body = JSON.parse(body); } catch (e) { /* keep the text */ }
  return {
    name: err.name || err.constructor.name,
    message: err.message,
    status: err.response ? err.response.statusCode : undefined,
    body,
  };
}

// pick keeps the response headers the comparison looks at.
function pick(h) {
  const out = {};
  for (const k of ['etag', 'x-ms-continuation', 'x-ms-item-type', 'content-type']) {
    if (h[k] !== undefined) out[k] = h[k];
  }
  return out;
}

async function step(name, fn) {
  try {
    const res = await fn();
    // Promises resolve to {responseBody, httpResponse} (queries: {result, httpResponse}) or nothing.
    let out = null;
    if (res && res.responseBody !== undefined) out = res.responseBody;
    else if (res && res.result !== undefined) out = res.result;
    const status = res && res.httpResponse ? res.httpResponse.statusCode : undefined;
    const headers = res && res.httpResponse ? pick(res.httpResponse.headers) : undefined;
    emit(name, { ok: true, status, headers, result: out });
    return out;
  } catch (err) {
    emit(name, { ok: false, error: described(err) });
    return undefined;
  }
}

// bulk runs a bulk operation through the client's callback form: in 1.11.2 the promise form of
// runBulkEnrollmentOperation never settles (it only reports when a callback was given).
function bulk(op) {
  return new Promise((resolve, reject) => {
    client.runBulkEnrollmentOperation(op, (err, result, response) => {
      if (err) reject(err);
      else resolve({ responseBody: result, httpResponse: response });
    });
  });
}

async function main() {
  const tpmId = prefix + '-tpm';
  const attestation = ek
    ? { type: 'tpm', tpm: { endorsementKey: ek } }
    : { type: 'symmetricKey' };

  const created = await step('create', () => client.createOrUpdateIndividualEnrollment({
    registrationId: tpmId,
    deviceId: tpmId + '-device',
    attestation,
    initialTwin: { tags: { line: 'conformance' }, properties: { desired: { interval: 30 } } },
  }));
  await step('get', () => client.getIndividualEnrollment(tpmId));
  if (created) {
    const changed = Object.assign({}, created, { provisioningStatus: 'disabled' });
    await step('update-with-etag', () => client.createOrUpdateIndividualEnrollment(changed));
    // The etag from the create is stale now: the service must refuse with 412.
    await step('update-with-stale-etag', () => client.createOrUpdateIndividualEnrollment(changed));
  }

  const symIds = [prefix + '-sym-1', prefix + '-sym-2'];
  await step('bulk-create', () => bulk({
    mode: 'create',
    enrollments: [
      { registrationId: symIds[0], attestation: { type: 'symmetricKey' } },
      { registrationId: symIds[1], attestation: { type: 'symmetricKey' } },
      { registrationId: tpmId, attestation },
    ],
  }));

  const query = client.createIndividualEnrollmentQuery({ query: '*' }, 2);
  let page = 0;
  while (query.hasMoreResults && page < 10) {
    page++;
    // next() without arguments would not send the continuation token (1.11.2 only reads it from
    // the query when given a callback), so pass it explicitly.
    await step('query-page-' + page, () => query.next(query.continuationToken));
  }

  await step('registration-get', () => client.getDeviceRegistrationState(tpmId));
  await step('registration-delete', () => client.deleteDeviceRegistrationState(tpmId));
  await step('registration-get-after-delete', () => client.getDeviceRegistrationState(tpmId));

  // The second symmetric-key enrollment is left in place for the caller to compare with its own
  // client's view.
  await step('bulk-delete', () => bulk({
    mode: 'delete',
    enrollments: [{ registrationId: symIds[0] }],
  }));
  const current = await step('get-before-delete', () => client.getIndividualEnrollment(tpmId));
  if (current) {
    await step('delete-with-stale-etag', () => client.deleteIndividualEnrollment(tpmId, created.etag));
    await step('delete-with-etag', () => client.deleteIndividualEnrollment(tpmId, current.etag));
  }
  await step('get-after-delete', () => client.getIndividualEnrollment(tpmId));

  // An enrollment this client makes and changes, left in place with everything a technician
  // sets, read back here (node-get) and by the caller's client; the caller seeds its
  // registration state before the script runs.
  const nodeId = prefix + '-node';
  const made = await step('node-create', () => client.createOrUpdateIndividualEnrollment({
    registrationId: nodeId,
    deviceId: nodeId + '-device',
    attestation,
    capabilities: { iotEdge: true },
    initialTwin: {
      tags: { made: 'node', line: { n: 3, bays: [7, 8] } },
      properties: { desired: { interval: 15, mode: 'eco' } },
    },
  }));
  if (made) {
    await step('node-update', () => client.createOrUpdateIndividualEnrollment(
      Object.assign({}, made, { provisioningStatus: 'disabled' })));
  }
  await step('node-get', () => client.getIndividualEnrollment(nodeId));
  await step('node-registration', () => client.getDeviceRegistrationState(nodeId));

  if (goId) {
    await step('go-get', () => client.getIndividualEnrollment(goId));
    await step('go-registration', () => client.getDeviceRegistrationState(goId));
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
