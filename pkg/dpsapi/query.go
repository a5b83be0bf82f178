package dpsapi

// QuerySpecification is the body of a query request. The service understands "SELECT * FROM
// enrollments" and the shorthand "*".
type QuerySpecification struct {
	Query string `json:"query"`
}

// Headers of the query protocol: the page size asked for, and the continuation token the service
// returns when more pages follow (sent back to get the next page).
const (
	HeaderMaxItemCount = "x-ms-max-item-count"
	HeaderContinuation = "x-ms-continuation"
	HeaderItemType     = "x-ms-item-type"
)
