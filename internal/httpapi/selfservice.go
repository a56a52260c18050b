package httpapi

import (
	"github.com/evcs/evcs/internal/account"
	"github.com/evcs/evcs/internal/app"
)

// purchaserOps are the operations a purchaser's token may call besides its role's: each reads
// or writes the purchaser's own records only, which the use case enforces (another
// purchaser's record answers 404, as a missing one does).
var purchaserOps = map[string]bool{
	"get-user": true, "get-account": true, "list-accounts": true, "create-topup": true,
	"get-session": true, "list-sessions": true, "get-session-receipt": true, "get-session-receipt-pdf": true,
	"get-cdr": true, "list-cdrs": true, "get-invoice": true, "list-invoices": true, "get-invoice-pdf": true,
	"get-id-token": true, "list-id-tokens": true, "create-id-token": true, "update-id-token": true, "deactivate-id-token": true,
	"get-vehicle": true, "list-vehicles": true, "create-vehicle": true, "update-vehicle": true, "deactivate-vehicle": true,
}

// selfService reports whether a purchaser may call the operation on their own records.
func selfService(actor app.Actor, operationID string) bool {
	return actor.Role == account.RolePurchaser && purchaserOps[operationID]
}
