package gateway

import "github.com/roomgate/roomgate/gateway/httperror"

// The gateway's refusals are httperror's; short names for the door.
type refusal = httperror.Refusal

var (
	refuse        = httperror.Refuse
	writeJSON     = httperror.JSON
	sharedRefusal = httperror.Shared
)

const clusterRetryAfter = httperror.ClusterRetryAfter
