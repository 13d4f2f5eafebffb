package features

import "github.com/apache/arrow-go/v18/arrow"

// Feature column names. They are the contract of the features/ Parquet files.
const (
	CustomerID           = "customer_id"
	FirstOrderDate       = "first_order_date"
	LastOrderDate        = "last_order_date"
	RecencyDays          = "recency_days"
	TenureDays           = "tenure_days"
	Orders               = "orders"
	SpendCents           = "spend_cents"
	AvgOrderValue        = "avg_order_value"
	BTYDX                = "btyd_x"
	BTYDTx               = "btyd_t_x"
	BTYDT                = "btyd_T"
	BTYDMeanSpend        = "btyd_mean_repeat_spend"
	Orders30d            = "orders_30d"
	Orders90d            = "orders_90d"
	Orders365d           = "orders_365d"
	OrdersPrev90d        = "orders_prev_90d"
	Spend30d             = "spend_30d"
	Spend90d             = "spend_90d"
	Spend365d            = "spend_365d"
	Trend90d             = "trend_90d"
	GapMeanDays          = "gap_mean_days"
	GapStdDays           = "gap_std_days"
	OverdueRatio         = "overdue_ratio"
	ActiveMonths         = "active_months_365d"
	CategoryBreadth      = "category_breadth"
	RefundRate           = "refund_rate"
	NPSLatest            = "nps_latest"             // latest NPS answer 0–10 by the cutoff, null if none
	NPSClass             = "nps_class"              // promoter (9–10), passive (7–8), detractor (0–6), "" if none
	CSATMean             = "csat_mean"              // mean CSAT answer, null if none
	CESLatest            = "ces_latest"             // latest customer-effort answer, null if none
	Complaints30d        = "complaints_30d"         // complaints in the 30 days up to the cutoff
	Complaints90d        = "complaints_90d"         // … in the 90 days
	Complaints365d       = "complaints_365d"        // … in the 365 days
	DaysSinceComplaint   = "days_since_complaint"   // null if none
	Tickets90d           = "tickets_90d"            // support tickets in the 90 days
	Returns365d          = "returns_365d"           // return events (feedback) in the 365 days
	BoughtAfterComplaint = "bought_after_complaint" // 1 if an order followed the last complaint, 0 if not, null if no complaint
	SatisfactionIndex    = "satisfaction_index"     // mean of the available survey items scaled to 0–1 (NPS/10, (CSAT−1)/4, (7−CES)/6), null if none
	RScore               = "r_score"
	FScore               = "f_score"
	MScore               = "m_score"
	RFMCell              = "rfm_cell"
	LabelChurned         = "label_churned"
	LabelFutureOrd       = "label_future_orders"
	LabelFutureSpend     = "label_future_spend_cents"
	LabelFutureDays      = "label_future_purchase_days"
)

// ModelColumns are the numeric features the churn models use, in order.
var ModelColumns = []string{RecencyDays, TenureDays, Orders, AvgOrderValue, BTYDX, Orders30d, Orders90d,
	Orders365d, OrdersPrev90d, Spend90d, Spend365d, Trend90d, GapMeanDays, GapStdDays, OverdueRatio,
	ActiveMonths, CategoryBreadth, RefundRate, NPSLatest, CSATMean, CESLatest, Complaints30d, Complaints90d, Complaints365d,
	DaysSinceComplaint, Tickets90d, Returns365d, BoughtAfterComplaint, SatisfactionIndex}

func f64(name string, nullable bool) arrow.Field {
	return arrow.Field{Name: name, Type: arrow.PrimitiveTypes.Float64, Nullable: nullable}
}
func i64(name string) arrow.Field { return arrow.Field{Name: name, Type: arrow.PrimitiveTypes.Int64} }

// baseFields are produced by Builder, before RFM scores and labels.
var baseFields = []arrow.Field{
	{Name: CustomerID, Type: arrow.BinaryTypes.String},
	{Name: FirstOrderDate, Type: arrow.FixedWidthTypes.Date32},
	{Name: LastOrderDate, Type: arrow.FixedWidthTypes.Date32},
	f64(RecencyDays, false), f64(TenureDays, false), i64(Orders), i64(SpendCents), f64(AvgOrderValue, false),
	i64(BTYDX), f64(BTYDTx, false), f64(BTYDT, false), f64(BTYDMeanSpend, false),
	i64(Orders30d), i64(Orders90d), i64(Orders365d), i64(OrdersPrev90d),
	f64(Spend30d, false), f64(Spend90d, false), f64(Spend365d, false), i64(Trend90d),
	f64(GapMeanDays, true), f64(GapStdDays, true), f64(OverdueRatio, true),
	i64(ActiveMonths), i64(CategoryBreadth), f64(RefundRate, false),
	f64(NPSLatest, true), {Name: NPSClass, Type: arrow.BinaryTypes.String}, f64(CSATMean, true), f64(CESLatest, true),
	i64(Complaints30d), i64(Complaints90d), i64(Complaints365d), f64(DaysSinceComplaint, true), i64(Tickets90d), i64(Returns365d),
	f64(BoughtAfterComplaint, true), f64(SatisfactionIndex, true),
}

var labelFields = []arrow.Field{
	{Name: LabelChurned, Type: arrow.FixedWidthTypes.Boolean},
	i64(LabelFutureOrd), i64(LabelFutureSpend), i64(LabelFutureDays),
}

var rfmFields = []arrow.Field{
	{Name: RScore, Type: arrow.PrimitiveTypes.Int8}, {Name: FScore, Type: arrow.PrimitiveTypes.Int8},
	{Name: MScore, Type: arrow.PrimitiveTypes.Int8}, {Name: RFMCell, Type: arrow.BinaryTypes.String},
}

// BuilderSchema is the schema of Builder.Finish: base features, then labels when labelled.
func BuilderSchema(labelled bool) *arrow.Schema {
	fs := append([]arrow.Field(nil), baseFields...)
	if labelled {
		fs = append(fs, labelFields...)
	}
	return arrow.NewSchema(fs, nil)
}
