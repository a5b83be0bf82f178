package enroll

import (
	"context"
	"errors"

	"github.com/oobtpm/oob/pkg/dps"
	"github.com/oobtpm/oob/pkg/dpsapi"
	"github.com/oobtpm/oob/pkg/identity"
)

// Item is one device to enroll with EnrollMany.
type Item struct {
	ID       identity.Verified
	Settings Settings
}

// ItemResult is what EnrollMany did for one Item: Result as Enroll returns it, or Err (a
// *ConflictError for a registration ID enrolled with another key).
type ItemResult struct {
	Result *Result
	Err    error
}

// EnrollMany creates the enrollments of many devices with the rules of Enroll, never replacing:
// all are sent as DPS bulk creates (dps.Bulk, MaxBulkEnrollments a request), which never
// overwrite; those DPS refuses as existing are read back, and are already enrolled when their EK
// is the same and a *ConflictError when it is not. A created enrollment is reported as sent
// (not read back, which would double the requests). settled, when set, is called with the
// indexes of the items each request settled (items refused before sending first), in order, so
// the caller can record them as they land. Results are in the order of items.
func EnrollMany(ctx context.Context, c *dps.Client, items []Item, settled func(results []ItemResult, indexes []int)) []ItemResult {
	results := make([]ItemResult, len(items))
	wants := make([]dpsapi.IndividualEnrollment, 0, len(items))
	index := make([]int, 0, len(items)) // wants[i] is items[index[i]]
	var refused []int
	for i, it := range items {
		want, err := Enrollment(it.ID, it.Settings)
		if err != nil {
			results[i].Err = err
			refused = append(refused, i)
			continue
		}
		wants = append(wants, *want)
		index = append(index, i)
	}
	if settled != nil && len(refused) > 0 {
		settled(results, refused)
	}
	for start := 0; start < len(wants); start += dpsapi.MaxBulkEnrollments {
		end := min(start+dpsapi.MaxBulkEnrollments, len(wants))
		enrollChunk(ctx, c, wants[start:end], index[start:end], results)
		if settled != nil {
			settled(results, index[start:end])
		}
	}
	return results
}

// enrollChunk sends one bulk create and settles each of its items.
func enrollChunk(ctx context.Context, c *dps.Client, wants []dpsapi.IndividualEnrollment, index []int, results []ItemResult) {
	res, err := c.Bulk(ctx, dpsapi.BulkCreate, wants)
	if err != nil {
		for _, i := range index {
			results[i].Err = err
		}
		return
	}
	failed := map[string]dps.BulkItemError{}
	for _, e := range res.Errors {
		failed[e.RegistrationID] = e
	}
	for k := range wants {
		want, i := &wants[k], index[k]
		itemErr, bad := failed[want.RegistrationID]
		if !bad {
			results[i].Result = &Result{Outcome: Created, Enrollment: want}
			continue
		}
		cause := itemErr.Cause("create enrollment")
		if !errors.Is(cause, dps.ErrConflict) {
			results[i].Err = cause
			continue
		}
		existing, err := c.GetEnrollment(ctx, want.RegistrationID)
		if err != nil {
			results[i].Err = err
			continue
		}
		results[i].Result, results[i].Err = settle(ctx, c, existing, want, Options{})
	}
}
