package emulator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/oobtpm/oob/pkg/dpsapi"
	bolt "go.etcd.io/bbolt"
)

// bucketGroupMembers holds enrollment group ID, NUL and registration ID (no value) for each device
// whose last registration came through that group: what the group's registration state query
// lists.
var bucketGroupMembers = []byte("groupMembers")

func groupMemberKey(groupID, registrationID string) []byte {
	return []byte(groupID + "\x00" + registrationID)
}

// noteGroupMember records, as a device's registration starts, the enrollment group it came
// through (none for an individual enrollment), so that this group's registration state query
// lists the device and another group's no longer does.
func noteGroupMember(tx *bolt.Tx, op *operation) error {
	d, err := getDevice(tx, op.RegistrationID)
	if err != nil || d.Group == op.GroupID {
		return err
	}
	b := tx.Bucket(bucketGroupMembers)
	if d.Group != "" {
		if err := b.Delete(groupMemberKey(d.Group, op.RegistrationID)); err != nil {
			return err
		}
	}
	if op.GroupID != "" {
		if err := b.Put(groupMemberKey(op.GroupID, op.RegistrationID), []byte{}); err != nil {
			return err
		}
	}
	d.Group = op.GroupID
	return putJSON(tx.Bucket(bucketDevices), op.RegistrationID, d)
}

// QueryGroupRegistrations returns up to limit registration states of the devices that registered
// through the enrollment group groupID, in registration ID order from the registration ID from
// (inclusive; empty for the beginning), and the ID the next page starts at (empty when there is
// none). ErrNotFound when there is no such group.
func (s *Store) QueryGroupRegistrations(ctx context.Context, groupID, from string, limit int) ([]dpsapi.DeviceRegistrationState, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	var next string
	page, err := view(s, func(tx *bolt.Tx) ([]dpsapi.DeviceRegistrationState, error) {
		if _, err := getGroup(tx, groupID); err != nil {
			return nil, err
		}
		prefix := groupMemberKey(groupID, "")
		page := []dpsapi.DeviceRegistrationState{}
		c := tx.Bucket(bucketGroupMembers).Cursor()
		for k, _ := c.Seek(groupMemberKey(groupID, from)); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			id := string(k[len(prefix):])
			st, err := getState(tx, id)
			switch {
			case errors.Is(err, ErrNotFound):
				// The state was deleted; the device is listed again when it registers again.
				continue
			case err != nil:
				return nil, err
			case len(page) == limit:
				next = id
				return page, nil
			}
			page = append(page, *st)
		}
		return page, nil
	})
	return page, next, err
}

// handleGroupRegistrationQuery serves POST /registrations/{groupId}/query: the registration states
// of the group's devices, a page at a time as enrollment queries are. The REST specification sends
// no body; Microsoft's SDKs send a query specification, which must then select everything.
func (s *Server) handleGroupRegistrationQuery(w http.ResponseWriter, r *http.Request, groupID string) *apiError {
	if r.ContentLength != 0 {
		body, apiErr := readBody(w, r, s.maxBody)
		if apiErr != nil {
			return apiErr
		}
		var q dpsapi.QuerySpecification
		if err := json.Unmarshal(body, &q); err != nil {
			return errorf(CodeMalformedBody, "The request body is not a valid query specification: %s", jsonProblem(err))
		}
		if f := strings.Fields(strings.ToLower(q.Query)); !(len(f) == 0 || len(f) == 1 && f[0] == "*" || len(f) == 4 && f[0] == "select" && f[1] == "*" && f[2] == "from") {
			return errorf(CodeInvalidArgument, "Query %q is not supported: this emulator answers \"*\" (all of the group's registrations).", truncate(q.Query))
		}
	}
	q, apiErr := readPaging(r)
	if apiErr != nil {
		return apiErr
	}
	page, next, err := s.store.QueryGroupRegistrations(r.Context(), groupID, q.from, q.size)
	if err != nil {
		return s.storeError(err, groupNotFound(groupID))
	}
	writePage(w, "DeviceRegistration", q, next, page)
	return nil
}
