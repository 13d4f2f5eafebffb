package datasets

// Canonical transaction columns (DESIGN.md, "Contracts"), one row per order line.
const (
	ColCustomerID     = "customer_id"      // string, required; kept verbatim (leading zeros survive)
	ColOrderID        = "order_id"         // string, optional; lines of one order share it
	ColLineID         = "line_id"          // string, optional; the line's number or id within its order
	ColTS             = "ts"               // timestamp µs UTC, required
	ColAmountCents    = "amount_cents"     // int64 cents, required; negative = refund/return
	ColQuantity       = "quantity"         // int32, optional (0 when absent)
	ColProductID      = "product_id"       // string, optional
	ColCategory       = "category"         // string, optional
	ColChannel        = "channel"          // string, optional
	ColLineKind       = "line_kind"        // string: product (or empty), cancellation, shipping, fee, voucher, adjustment
	ColDiscount       = "discount_cents"   // int64 cents ≥ 0, optional: the line's discount (amount_cents is after it)
	ColUnitPrice      = "unit_price_cents" // int64 ≥ 0, optional: the list price of one unit before discounts (0: unknown)
	ColPointsEarned   = "points_earned"    // int64, optional: loyalty points the line earned (negative: taken back)
	ColPointsRedeemed = "points_redeemed"  // int64, optional: loyalty points spent on the line (negative: given back)
)

// Line kinds (the line_kind column). Only product and cancellation lines
// count as purchases and spend; the others are kept but set aside.
const (
	LineProduct      = "product"
	LineCancellation = "cancellation" // the negative counterpart of a cancelled or returned line
	LineShipping     = "shipping"
	LineFee          = "fee"
	LineVoucher      = "voucher"
	LineAdjustment   = "adjustment"
)

// NonProductKinds are the line kinds that are not purchases.
var NonProductKinds = []string{LineShipping, LineFee, LineVoucher, LineAdjustment}

// IsNonProduct reports whether a line_kind is not goods: neither empty,
// product nor cancellation.
func IsNonProduct(kind string) bool {
	switch kind {
	case "", LineProduct, LineCancellation:
		return false
	}
	return true
}

// Mapping keys accepted by --map. They name canonical fields; "amount" is in
// currency units (e.g. 12.34) and is converted to integer cents.
const (
	KeyCustomerID = "customer_id"
	KeyOrderID    = "order_id"
	KeyLineID     = "line_id"
	KeyTS         = "ts"
	KeyAmount     = "amount"
	KeyQuantity   = "quantity"
	KeyProductID  = "product_id"
	KeyCategory   = "category"
	KeyChannel    = "channel"
	// Line amount from parts, when there is no amount column:
	// amount = quantity × unit_price − discount (or line_total when given).
	KeyUnitPrice = "unit_price"
	KeyDiscount  = "discount"
	KeyLineTotal = "line_total"
	// Identity, status and description of a line.
	KeyEmail       = "email"        // the customer id of guests with --guest-key email
	KeyStatus      = "status"       // order or financial status; cancelled/voided/refunded cancel the line
	KeyCancelledAt = "cancelled_at" // set: the line was cancelled then
	KeyDescription = "description"  // product name, matched by the non-product rules
	KeyRefunded    = "refunded"     // order-level amount refunded (on an order's first line)
	// Loyalty points of a line, when the export has them.
	KeyPointsEarned   = "points_earned"
	KeyPointsRedeemed = "points_redeemed"
)

// MappingKeys lists the --map keys in a stable order.
var MappingKeys = []string{KeyCustomerID, KeyOrderID, KeyLineID, KeyTS, KeyAmount, KeyQuantity, KeyProductID, KeyCategory, KeyChannel,
	KeyUnitPrice, KeyDiscount, KeyLineTotal, KeyEmail, KeyStatus, KeyCancelledAt, KeyDescription, KeyRefunded,
	KeyPointsEarned, KeyPointsRedeemed}

// Transaction is one canonical order line, as stored in the warehouse.
type Transaction struct {
	// Plain pages, not a dictionary: a bucket's dictionary holds every one
	// of its customers, so each row's id was a lookup in a large map at
	// ingest and in a large dictionary on every read. Plain, the sorted ids
	// compress as well (zstd), ingest writes a bucket faster and the
	// feature and KPI passes read it faster.
	CustomerID  string `parquet:"customer_id,plain"`
	OrderID     string `parquet:"order_id,plain"` // plain: arrow-go v18.8 leaks in its delta-length decoder
	TS          int64  `parquet:"ts,timestamp(microsecond:utc)"`
	AmountCents int64  `parquet:"amount_cents"`
	Quantity    int32  `parquet:"quantity"`
	ProductID   string `parquet:"product_id,dict"`
	Category    string `parquet:"category,dict"`
	Channel     string `parquet:"channel,dict"`
	// LineID identifies the line within its order when the export has one;
	// then (customer, order, line) is the row's identity and a later
	// export's version of the line replaces the stored one.
	LineID string `parquet:"line_id,dict"`
	// LineKind is empty or "product" for goods, else one of the Line* kinds.
	LineKind string `parquet:"line_kind,dict"`
	// DiscountCents is the discount given on the line, ≥ 0 (AmountCents is
	// net of it); 0 when the export has none. Warehouses written before it
	// existed lack the column.
	DiscountCents int64 `parquet:"discount_cents"`
	// PointsEarned and PointsRedeemed are the line's loyalty points when the
	// export has them (0 otherwise); a cancelled line's counterpart takes
	// the points earned back and gives the points spent back (negative values).
	// UnitPriceCents is the list price of one unit, rounded to cents, when
	// the export has a unit price column; 0 otherwise.
	UnitPriceCents int64 `parquet:"unit_price_cents"`
	PointsEarned   int64 `parquet:"points_earned"`
	PointsRedeemed int64 `parquet:"points_redeemed"`
}

// Folder and file names of the work directory (docs/ARCHITECTURE.md).
const (
	ManifestName     = "_manifest.json"
	WarehouseDir     = "warehouse/transactions"
	FeaturesDir      = "features"
	ModelsDir        = "models"
	ListsDir         = "lists"
	RetentionListCSV = "retention_list.csv"
	ScoresParquet    = "scores.parquet"
	ReportHTML       = "report.html"
	ChampionFile     = "CHAMPION"
)
