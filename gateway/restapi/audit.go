package restapi

// The audit log's events of changes made through the API (the door's are
// in gateway/audit.go): one line each, naming tokens by their id only.
const (
	auditTokenMinted = "token.minted"
	auditRoomCreated = "room.created"
	auditRoomChanged = "room.changed"
	auditRoomDeleted = "room.deleted"
	auditBanned      = "participant.banned"
	auditUnbanned    = "participant.unbanned"
)

// nameOr is name, or fallback when name is empty.
func nameOr(name, fallback string) string {
	if name != "" {
		return name
	}
	return fallback
}
