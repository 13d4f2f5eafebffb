package features

import (
	"fmt"
	"strings"
)

// CatalogueEntry documents one column of a feature snapshot.
type CatalogueEntry struct {
	Name   string
	Unit   string // days, orders, currency units, cents, score, share, …
	Window string // the period it looks at, relative to the cutoff day
	Null   string // what an empty value means ("" when never empty)
	EN, ZH string // meaning in English and Chinese
}

// Catalogue lists every column a snapshot writes, grouped as base
// features, RFM scores, labels. A test checks it against the schema.
var Catalogue = []CatalogueEntry{
	{CustomerID, "", "", "", "customer id, as ingested", "客户ID（与导入一致）"},
	{FirstOrderDate, "date", "up to the cutoff", "", "day of the first order", "首次下单日期"},
	{LastOrderDate, "date", "up to the cutoff", "", "day of the last order", "最近一次下单日期"},
	{RecencyDays, "days", "", "", "cutoff day − last order day", "距最近一次下单的天数"},
	{TenureDays, "days", "", "", "cutoff day − first order day", "成为客户的天数"},
	{Orders, "orders", "up to the cutoff", "", "orders (RFM frequency); cancelled orders excluded", "订单数（RFM频次，不含已取消订单）"},
	{SpendCents, "cents", "up to the cutoff", "", "net spend, refunds included (RFM monetary)", "净消费额（含退款，RFM金额）"},
	{AvgOrderValue, "currency units", "up to the cutoff", "", "gross order amount / orders", "平均客单价"},
	{BTYDX, "days", "up to the cutoff", "", "repeat purchase days (BTYD x)", "复购天数（BTYD x）"},
	{BTYDTx, "days", "up to the cutoff", "", "last − first purchase day (BTYD t_x)", "首末购买日间隔（BTYD t_x）"},
	{BTYDT, "days", "", "", "cutoff day − first purchase day (BTYD T)", "观察期长度（BTYD T）"},
	{BTYDMeanSpend, "currency units", "up to the cutoff", "", "mean spend of the repeat purchase days; 0 when x = 0", "复购日平均消费（x=0时为0）"},
	{Orders30d, "orders", "last 30 days", "", "orders in the window", "近30天订单数"},
	{Orders90d, "orders", "last 90 days", "", "orders in the window", "近90天订单数"},
	{Orders365d, "orders", "last 365 days", "", "orders in the window", "近365天订单数"},
	{OrdersPrev90d, "orders", "days 91–180 back", "", "orders in the 90 days before the last 90", "此前90天（第91–180天）订单数"},
	{Spend30d, "currency units", "last 30 days", "", "net amount in the window", "近30天净消费"},
	{Spend90d, "currency units", "last 90 days", "", "net amount in the window", "近90天净消费"},
	{Spend365d, "currency units", "last 365 days", "", "net amount in the window", "近365天净消费"},
	{Trend90d, "orders", "last 180 days", "", "orders_90d − orders_prev_90d", "近90天与此前90天订单数之差"},
	{GapMeanDays, "days", "up to the cutoff", "fewer than two purchase days", "mean gap between purchase days", "平均购买间隔"},
	{GapStdDays, "days", "up to the cutoff", "fewer than three purchase days", "standard deviation of the gaps", "购买间隔标准差"},
	{OverdueRatio, "ratio", "", "fewer than two purchase days", "recency / mean gap", "逾期倍数（距上次购买天数/平均间隔）"},
	{ActiveMonths, "months", "last 365 days", "", "calendar months with an order", "有购买的自然月数"},
	{CategoryBreadth, "categories", "up to the cutoff", "", "distinct categories bought", "购买过的品类数"},
	{RefundRate, "share", "up to the cutoff", "", "refunded amount / gross order amount", "退款金额占比"},
	{RepeatCustomer, "0/1", "up to the cutoff", "", "1 with two or more purchase days", "是否复购（两个及以上购买日为1）"},
	{RepeatRate, "share", "up to the cutoff", "", "repeat purchase days / orders", "复购率（复购天数/订单数）"},
	{OrdersPerMonth, "orders per month", "up to the cutoff", "", "orders / months since the first order (at least one month)", "月均购买频次（自首单起）"},
	{AOVTrend, "ratio", "up to the cutoff", "fewer than two orders, or an older half worth nothing", "mean order of the newer half of the orders / of the older half − 1", "客单价趋势（较新一半订单均值/较早一半均值−1）"},
	{SpendPrev90d, "currency units", "days 91–180 back", "", "net amount in the 90 days before the last 90", "此前90天（第91–180天）净消费"},
	{SpendVelocity, "−1…1", "last 180 days", "no net spend in either window", "(spend_90d − spend_prev_90d) / (spend_90d + spend_prev_90d)", "消费增速（近90天与此前90天之差/之和）"},
	{OrderVelocity, "−1…1", "last 180 days", "no order in either window", "(orders_90d − orders_prev_90d) / (orders_90d + orders_prev_90d)", "订单增速（近90天与此前90天之差/之和）"},
	{LongestGapDays, "days", "up to the cutoff", "fewer than two purchase days", "longest gap between purchase days", "最长购买间隔"},
	{WeekendShare, "share", "up to the cutoff", "", "orders on Saturday or Sunday, shop time zone", "周末订单占比（店铺时区）"},
	{EveningShare, "share", "up to the cutoff", "", "orders from 18:00 to midnight, shop time zone", "晚间（18点后）订单占比"},
	{MainWeekday, "1–7", "up to the cutoff", "", "weekday with the most orders, 1 = Monday (earliest on ties)", "最常下单的星期几（1=周一）"},
	{MainHour, "0–23", "up to the cutoff", "", "hour of day with the most orders (earliest on ties)", "最常下单的时段（小时）"},
	{Channels, "channels", "up to the cutoff", "", "distinct channels of the orders", "使用过的渠道数"},
	{MainChannel, "", "up to the cutoff", "no channel in the input (empty string)", "channel with the most orders (alphabetically first on ties)", "主要渠道（订单最多）"},
	{MainChannelShare, "share", "up to the cutoff", "no channel in the input", "its share of the orders with a channel", "主要渠道订单占比"},
	{CategoryEntropy, "bits", "up to the cutoff", "", "Shannon entropy of gross spend over categories (0 = one category)", "品类分散度（消费的香农熵）"},
	{TopCategoryShare, "share", "up to the cutoff", "", "share of gross spend in the top category", "第一品类消费占比"},
	{BasketItems, "items", "up to the cutoff", "no quantities in the input", "items (quantity) per order", "平均每单件数"},
	{BasketLines, "lines", "up to the cutoff", "", "product lines per order", "平均每单商品行数"},
	{DiscountOrderShare, "share", "up to the cutoff", "no discount column in the input", "orders with a discount / orders", "使用折扣的订单占比"},
	{DiscountSpendShare, "share", "up to the cutoff", "no discount column in the input", "gross amount of discounted orders / gross amount", "折扣订单金额占比"},
	{DiscountDepth, "share", "up to the cutoff", "no discount column, or no discounted order", "mean of discount / (paid + discount) over discounted orders", "平均折扣深度"},
	{FullPriceShare, "share", "up to the cutoff", "no discount column in the input", "purchase lines without a discount / purchase lines", "原价购买占比（按商品行）"},
	{PriceIncreasesSeen, "increases", "up to the cutoff", "", "months in which a product the customer bought in the 180 days before rose ≥ 5% in mean list price (the 90 days after ending by the cutoff)", "经历的涨价次数（涨价前180天内买过该商品）"},
	{PriceIncreaseResp, "−1…1", "90 days each side", "no such increase, or no spend on either side", "mean of (spend 90 days after − 90 days before) / their sum over those increases", "涨价后消费变化（前后90天消费之差/之和）"},
	{ReturnRateLines, "share", "up to the cutoff", "", "returned (negative) lines / purchased lines", "退货率（按商品行数）"},
	{NPSLatest, "score 0–10", "up to the cutoff", "no NPS answer", "latest NPS answer", "最近一次NPS评分"},
	{NPSClass, "", "up to the cutoff", "no NPS answer (empty string)", "promoter 9–10, passive 7–8, detractor 0–6", "推荐者(9–10)/中立者(7–8)/贬损者(0–6)"},
	{CSATMean, "score 1–5", "up to the cutoff", "no CSAT answer", "mean CSAT answer", "平均满意度（CSAT）"},
	{CESLatest, "score 1–7", "up to the cutoff", "no CES answer", "latest customer-effort answer", "最近一次费力度（CES）"},
	{Complaints30d, "complaints", "last 30 days", "", "complaints in the window", "近30天投诉次数"},
	{Complaints90d, "complaints", "last 90 days", "", "complaints in the window", "近90天投诉次数"},
	{Complaints365d, "complaints", "last 365 days", "", "complaints in the window", "近365天投诉次数"},
	{DaysSinceComplaint, "days", "up to the cutoff", "never complained", "days since the last complaint", "距最近一次投诉的天数"},
	{Tickets90d, "tickets", "last 90 days", "", "support tickets in the window", "近90天客服工单数"},
	{Returns365d, "returns", "last 365 days", "", "return events reported as feedback", "近365天退货次数（反馈）"},
	{BoughtAfterComplaint, "0/1", "up to the cutoff", "never complained", "1 if an order followed the last complaint", "最近一次投诉后是否再次购买"},
	{SatisfactionIndex, "share 0–1", "up to the cutoff", "no survey answer", "weighted mean of NPS/10, (CSAT−1)/4, (7−CES)/6 over the answered items (weights: --satisfaction-weights, default equal)", "满意度指数（已答题项标准化后的加权平均）"},
	{SurveyResponseRate, "share", "last 365 days", "no survey invitation", "survey responses / invitations (at most 1)", "问卷回复率"},
	{PerceivedMinusExp, "score", "up to the cutoff", "no perceived or no expected answer", "latest perceived − latest expected quality answer", "感知质量减期望质量"},
	{LoyaltyTier, "", "tier window (365 days)", "", "programme tier by net spend and orders in the window (--tiers); none below the lowest", "会员等级（按窗口内净消费与订单数）"},
	{TierRank, "rank", "tier window (365 days)", "", "0 = none, 1 = lowest tier, …", "会员等级序号（0为无）"},
	{MonthsInTier, "month-ends", "last 24 months", "", "month-ends in a row at the current tier, the cutoff included (at most 25)", "连续处于当前等级的月数"},
	{TierChanges365d, "changes", "last 12 months", "", "tier changes between the cutoff and the last 12 month-ends", "近12个月等级变动次数"},
	{PointsBalance, "points", "up to the cutoff", "no points columns in the input", "loyalty points earned − redeemed", "积分余额（获得−使用）"},
	{PointsEarned365d, "points", "last 365 days", "no points columns in the input", "points earned (negative when taken back)", "近365天获得积分"},
	{PointsRedeemed365d, "points", "last 365 days", "no points columns in the input", "points redeemed (negative when given back)", "近365天使用积分"},
	{RedemptionRate, "share", "up to the cutoff", "no points columns, or none earned", "points redeemed / points earned", "积分使用率"},
	{DaysSinceRedemption, "days", "up to the cutoff", "no points columns, or never redeemed", "days since the last redemption", "距最近一次使用积分的天数"},
	{SubscriptionStatus, "", "up to the cutoff", "no subscribe or cancel events (empty string)", "contract state from the feedback input's subscribe and cancel events: active or cancelled", "订阅/合约状态：有效或已取消"},
	{SubscriptionDays, "days", "up to the cutoff", "not active, or active without a subscribe event", "days since the subscribe that began the current active spell", "当前订阅已持续天数"},
	{Cancellations, "cancellations", "up to the cutoff", "", "cancel events (subscription, membership or contract)", "取消订阅/解约次数"},
	{DaysSinceCancel, "days", "up to the cutoff", "never cancelled", "days since the last cancel event", "距最近一次取消的天数"},
	{RScore, "score 1–5", "", "", "recency quintile (5 = most recent)", "R分（近度五分位，5为最近）"},
	{FScore, "score 1–5", "", "", "frequency quintile", "F分（频次五分位）"},
	{MScore, "score 1–5", "", "", "monetary quintile", "M分（金额五分位）"},
	{RFMCell, "", "", "", `the three scores, e.g. "545"`, "RFM组合，如“545”"},
	{LabelChurned, "bool", "the horizon after the cutoff", "", "labelled snapshots: no order within the horizon", "标签：观察期后horizon内无订单（流失）"},
	{LabelFutureOrd, "orders", "the horizon after the cutoff", "", "labelled snapshots: orders in the horizon", "标签：horizon内订单数"},
	{LabelFutureSpend, "cents", "the horizon after the cutoff", "", "labelled snapshots: net amount in the horizon", "标签：horizon内净消费"},
	{LabelFutureDays, "days", "the horizon after the cutoff", "", "labelled snapshots: purchase days in the horizon (BTYD x*)", "标签：horizon内购买天数"},
	{LabelCancelled, "bool", "the horizon after the cutoff", "", "labelled snapshots: a cancel event within the horizon by a customer not cancelled at the cutoff (contractual churn)", "标签：horizon内取消订阅/解约（合约型流失）"},
}

// CatalogueMarkdown renders the catalogue as a Markdown table.
func CatalogueMarkdown() string {
	var b strings.Builder
	b.WriteString("| column | unit | window | empty when | meaning | 含义 |\n|---|---|---|---|---|---|\n")
	for _, e := range Catalogue {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", e.Name, e.Unit, e.Window, e.Null, e.EN, e.ZH)
	}
	return b.String()
}
