package features

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/apache/arrow-go/v18/arrow"
)

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
	RepeatCustomer       = "repeat_customer"          // 1 with two or more purchase days
	RepeatRate           = "repeat_rate"              // repeat purchase days per order
	OrdersPerMonth       = "orders_per_month"         // orders per month since the first
	AOVTrend             = "aov_trend"                // mean order of the newer half / older half − 1
	SpendPrev90d         = "spend_prev_90d"           // net amount in days 91–180 back
	SpendVelocity        = "spend_velocity"           // (spend_90d − spend_prev_90d) / their sum
	OrderVelocity        = "order_velocity"           // (orders_90d − orders_prev_90d) / their sum
	LongestGapDays       = "longest_gap_days"         // longest gap between purchase days
	WeekendShare         = "weekend_share"            // orders on Saturday or Sunday, local time
	EveningShare         = "evening_share"            // orders from 18:00, local time
	MainWeekday          = "main_weekday"             // ISO weekday with the most orders
	MainHour             = "main_hour"                // hour of day with the most orders
	Channels             = "channels"                 // distinct channels
	MainChannel          = "main_channel"             // channel with the most orders
	MainChannelShare     = "main_channel_share"       // its share of the orders with a channel
	CategoryEntropy      = "category_entropy"         // Shannon entropy of spend over categories, bits
	TopCategoryShare     = "top_category_share"       // share of spend in the top category
	BasketItems          = "basket_items_mean"        // items (quantity) per order
	BasketLines          = "basket_lines_mean"        // product lines per order
	DiscountOrderShare   = "discount_order_share"     // orders with a discount / orders
	DiscountSpendShare   = "discount_spend_share"     // gross amount of discounted orders / gross amount
	DiscountDepth        = "discount_depth_mean"      // mean discount / list amount of discounted orders
	FullPriceShare       = "full_price_share"         // purchase lines without a discount / purchase lines
	PriceIncreasesSeen   = "price_increases_seen"     // list-price increases of products bought in the 180 days before
	PriceIncreaseResp    = "price_increase_response"  // mean (spend after − before) / (after + before), 90 days each side
	ReturnRateLines      = "return_rate_lines"        // returned lines / purchased lines
	NPSLatest            = "nps_latest"               // latest NPS answer 0–10 by the cutoff, null if none
	NPSClass             = "nps_class"                // promoter (9–10), passive (7–8), detractor (0–6), "" if none
	CSATMean             = "csat_mean"                // mean CSAT answer, null if none
	CESLatest            = "ces_latest"               // latest customer-effort answer, null if none
	Complaints30d        = "complaints_30d"           // complaints in the 30 days up to the cutoff
	Complaints90d        = "complaints_90d"           // … in the 90 days
	Complaints365d       = "complaints_365d"          // … in the 365 days
	DaysSinceComplaint   = "days_since_complaint"     // null if none
	Tickets90d           = "tickets_90d"              // support tickets in the 90 days
	Returns365d          = "returns_365d"             // return events (feedback) in the 365 days
	BoughtAfterComplaint = "bought_after_complaint"   // 1 if an order followed the last complaint, 0 if not, null if no complaint
	SatisfactionIndex    = "satisfaction_index"       // weighted mean of the available survey items scaled to 0–1 (NPS/10, (CSAT−1)/4, (7−CES)/6), null if none
	SurveyResponseRate   = "survey_response_rate"     // survey responses / invitations in 365 days, null if not invited
	PerceivedMinusExp    = "perceived_minus_expected" // latest perceived − latest expected quality, null unless both
	LoyaltyTier          = "loyalty_tier"             // programme tier at the cutoff
	TierRank             = "tier_rank"                // 0 = none, 1 = lowest tier …
	MonthsInTier         = "months_in_tier"           // month-ends in a row at this tier, the cutoff included
	TierChanges365d      = "tier_changes_365d"        // tier changes over the last 12 month-ends
	PointsBalance        = "points_balance"           // points earned − redeemed, null without points columns
	PointsEarned365d     = "points_earned_365d"       // points earned in 365 days
	PointsRedeemed365d   = "points_redeemed_365d"     // points redeemed in 365 days
	RedemptionRate       = "redemption_rate"          // points redeemed / earned, lifetime
	DaysSinceRedemption  = "days_since_redemption"    // null if never redeemed
	SubscriptionStatus   = "subscription_status"      // active, cancelled, or "" without subscribe/cancel events
	SubscriptionDays     = "subscription_days"        // days since the subscribe that began the active spell, null otherwise
	Cancellations        = "cancellations"            // cancel events up to the cutoff
	DaysSinceCancel      = "days_since_cancel"        // null if never cancelled
	RScore               = "r_score"
	FScore               = "f_score"
	MScore               = "m_score"
	RFMCell              = "rfm_cell"
	LabelChurned         = "label_churned"
	LabelFutureOrd       = "label_future_orders"
	LabelFutureSpend     = "label_future_spend_cents"
	LabelFutureDays      = "label_future_purchase_days"
	LabelCancelled       = "label_cancelled"
)

// ModelColumns are the numeric features the churn models use, in order.
var ModelColumns = []string{RecencyDays, TenureDays, Orders, AvgOrderValue, BTYDX, Orders30d, Orders90d,
	Orders365d, OrdersPrev90d, Spend90d, Spend365d, Trend90d, GapMeanDays, GapStdDays, OverdueRatio,
	ActiveMonths, CategoryBreadth, RefundRate,
	RepeatRate, OrdersPerMonth, AOVTrend, SpendVelocity, OrderVelocity, LongestGapDays, WeekendShare, EveningShare,
	Channels, MainChannelShare, CategoryEntropy, TopCategoryShare, BasketItems, BasketLines,
	DiscountOrderShare, DiscountSpendShare, DiscountDepth, FullPriceShare, PriceIncreasesSeen, PriceIncreaseResp, ReturnRateLines,
	NPSLatest, CSATMean, CESLatest, Complaints30d, Complaints90d, Complaints365d,
	DaysSinceComplaint, Tickets90d, Returns365d, BoughtAfterComplaint, SatisfactionIndex, SurveyResponseRate, PerceivedMinusExp,
	TierRank, MonthsInTier, TierChanges365d, PointsBalance, PointsEarned365d, PointsRedeemed365d, RedemptionRate, DaysSinceRedemption,
	SubscriptionDays, Cancellations, DaysSinceCancel}

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
	i64(RepeatCustomer), f64(RepeatRate, false), f64(OrdersPerMonth, false), f64(AOVTrend, true), f64(SpendPrev90d, false),
	f64(SpendVelocity, true), f64(OrderVelocity, true), f64(LongestGapDays, true),
	f64(WeekendShare, false), f64(EveningShare, false), i64(MainWeekday), i64(MainHour),
	i64(Channels), {Name: MainChannel, Type: arrow.BinaryTypes.String}, f64(MainChannelShare, true),
	f64(CategoryEntropy, false), f64(TopCategoryShare, false), f64(BasketItems, true), f64(BasketLines, false),
	f64(DiscountOrderShare, true), f64(DiscountSpendShare, true), f64(DiscountDepth, true), f64(FullPriceShare, true),
	i64(PriceIncreasesSeen), f64(PriceIncreaseResp, true),
	f64(ReturnRateLines, false),
	f64(NPSLatest, true), {Name: NPSClass, Type: arrow.BinaryTypes.String}, f64(CSATMean, true), f64(CESLatest, true),
	i64(Complaints30d), i64(Complaints90d), i64(Complaints365d), f64(DaysSinceComplaint, true), i64(Tickets90d), i64(Returns365d),
	f64(BoughtAfterComplaint, true), f64(SatisfactionIndex, true), f64(SurveyResponseRate, true), f64(PerceivedMinusExp, true),
	{Name: LoyaltyTier, Type: arrow.BinaryTypes.String}, i64(TierRank), i64(MonthsInTier), i64(TierChanges365d),
	f64(PointsBalance, true), f64(PointsEarned365d, true), f64(PointsRedeemed365d, true), f64(RedemptionRate, true), f64(DaysSinceRedemption, true),
	{Name: SubscriptionStatus, Type: arrow.BinaryTypes.String}, f64(SubscriptionDays, true), i64(Cancellations), f64(DaysSinceCancel, true),
}

var labelFields = []arrow.Field{
	{Name: LabelChurned, Type: arrow.FixedWidthTypes.Boolean},
	i64(LabelFutureOrd), i64(LabelFutureSpend), i64(LabelFutureDays),
	{Name: LabelCancelled, Type: arrow.FixedWidthTypes.Boolean},
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

// SchemaVersion is a short hash of the snapshot schema: snapshots written
// by another version of the builder are rebuilt, not reused.
func SchemaVersion() string {
	h := sha256.Sum256([]byte(BuilderSchema(true).String() + arrow.NewSchema(rfmFields, nil).String()))
	return hex.EncodeToString(h[:6])
}
