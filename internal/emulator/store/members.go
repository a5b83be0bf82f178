package store

import (
	"bytes"
	"context"
	"errors"

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
func noteGroupMember(tx *bolt.Tx, op *Operation) error {
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
