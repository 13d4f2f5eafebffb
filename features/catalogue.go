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
	{SatisfactionIndex, "share 0–1", "up to the cutoff", "no survey answer", "mean of NPS/10, (CSAT−1)/4, (7−CES)/6 over the answered items", "满意度指数（已答题项的标准化平均）"},
	{RScore, "score 1–5", "", "", "recency quintile (5 = most recent)", "R分（近度五分位，5为最近）"},
	{FScore, "score 1–5", "", "", "frequency quintile", "F分（频次五分位）"},
	{MScore, "score 1–5", "", "", "monetary quintile", "M分（金额五分位）"},
	{RFMCell, "", "", "", `the three scores, e.g. "545"`, "RFM组合，如“545”"},
	{LabelChurned, "bool", "the horizon after the cutoff", "", "labelled snapshots: no order within the horizon", "标签：观察期后horizon内无订单（流失）"},
	{LabelFutureOrd, "orders", "the horizon after the cutoff", "", "labelled snapshots: orders in the horizon", "标签：horizon内订单数"},
	{LabelFutureSpend, "cents", "the horizon after the cutoff", "", "labelled snapshots: net amount in the horizon", "标签：horizon内净消费"},
	{LabelFutureDays, "days", "the horizon after the cutoff", "", "labelled snapshots: purchase days in the horizon (BTYD x*)", "标签：horizon内购买天数"},
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
