package pipeline

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/churn-dev/churn/features"
)

// phrase is a reason in English and Chinese for a feature value v; gap is
// the customer's usual gap between purchase days (NaN when unknown). A
// language w does not ask for may be left empty (not formatted: ten million
// rows of three reasons each).
type phrase func(v, gap float64, w wants) (en, zh string)

// wants is the languages a phrase is asked for.
type wants uint8

const (
	wantEN wants = 1 << iota
	wantZH
)

// wantsOf is the languages lang shows.
func wantsOf(lang string) wants {
	switch lang {
	case LangZH:
		return wantZH
	case LangBoth:
		return wantEN | wantZH
	}
	return wantEN
}

// en formats an English phrase when w asks for English, else gives "".
func (w wants) en(format string, a ...any) string {
	if w&wantEN == 0 {
		return ""
	}
	return fmt.Sprintf(format, a...)
}

// zh formats a Chinese phrase when w asks for Chinese, else gives "".
func (w wants) zh(format string, a ...any) string {
	if w&wantZH == 0 {
		return ""
	}
	return fmt.Sprintf(format, a...)
}

// reasonText phrases a feature value for a CRM user, in English and
// Chinese. Features without an entry are not used as reasons.
var reasonText = map[string]phrase{
	features.RecencyDays: func(v, gap float64, w wants) (string, string) {
		if !math.IsNaN(gap) {
			return w.en("%.0f days since the last order, usual gap %.0f days", v, gap), w.zh("距上次购买已%.0f天，通常间隔%.0f天", v, gap)
		}
		return w.en("no order for %.0f days", v), w.zh("已%.0f天未购买", v)
	},
	features.TenureDays: func(v, _ float64, w wants) (string, string) {
		return w.en("customer for %.0f days", v), w.zh("成为客户%.0f天", v)
	},
	features.Orders: func(v, _ float64, w wants) (string, string) {
		return w.en("%.0f %s in total", v, plural(v, "order")), w.zh("累计%.0f笔订单", v)
	},
	features.AvgOrderValue: func(v, _ float64, w wants) (string, string) {
		return w.en("average order %.2f", v), w.zh("平均客单价%.2f", v)
	},
	features.BTYDX: func(v, _ float64, w wants) (string, string) {
		return w.en("%.0f repeat purchase days", v), w.zh("复购%.0f天", v)
	},
	features.Orders30d: func(v, _ float64, w wants) (string, string) {
		return w.en("%.0f %s in the last 30 days", v, plural(v, "order")), w.zh("近30天%.0f笔订单", v)
	},
	features.Orders90d: func(v, _ float64, w wants) (string, string) {
		return w.en("%.0f %s in the last 90 days", v, plural(v, "order")), w.zh("近90天%.0f笔订单", v)
	},
	features.Orders365d: func(v, _ float64, w wants) (string, string) {
		return w.en("%.0f %s in the last year", v, plural(v, "order")), w.zh("近一年%.0f笔订单", v)
	},
	features.OrdersPrev90d: func(v, _ float64, w wants) (string, string) {
		return w.en("%.0f %s in the 90 days before", v, plural(v, "order")), w.zh("此前90天%.0f笔订单", v)
	},
	features.Spend90d: func(v, _ float64, w wants) (string, string) {
		return w.en("spent %.2f in the last 90 days", v), w.zh("近90天消费%.2f", v)
	},
	features.Spend365d: func(v, _ float64, w wants) (string, string) {
		return w.en("spent %.2f in the last year", v), w.zh("近一年消费%.2f", v)
	},
	features.Trend90d: func(v, _ float64, w wants) (string, string) {
		return w.en("orders %+.0f vs the previous 90 days", v), w.zh("订单数较前90天%+.0f", v)
	},
	features.GapMeanDays: func(v, _ float64, w wants) (string, string) {
		return w.en("usually orders every %.0f days", v), w.zh("通常每%.0f天购买一次", v)
	},
	features.GapStdDays: func(v, _ float64, w wants) (string, string) {
		return w.en("irregular orders (gap sd %.0f days)", v), w.zh("购买间隔不规律（标准差%.0f天）", v)
	},
	features.OverdueRatio: func(v, _ float64, w wants) (string, string) {
		return w.en("overdue: %.1f× the usual gap", v), w.zh("已超出通常间隔%.1f倍", v)
	},
	features.ActiveMonths: func(v, _ float64, w wants) (string, string) {
		return w.en("active in %.0f of the last 12 months", v), w.zh("近12个月中%.0f个月有购买", v)
	},
	features.CategoryBreadth: func(v, _ float64, w wants) (string, string) {
		return w.en("buys in %.0f categories", v), w.zh("购买%.0f个品类", v)
	},
	features.RefundRate: func(v, _ float64, w wants) (string, string) {
		return w.en("refunds %.0f%% of spend", 100*v), w.zh("退款占消费%.0f%%", 100*v)
	},
	features.NPSLatest: func(v, _ float64, w wants) (string, string) {
		return w.en("latest NPS answer %.0f", v), w.zh("最近一次NPS评分%.0f", v)
	},
	features.CSATMean: func(v, _ float64, w wants) (string, string) {
		return w.en("mean satisfaction %.1f of 5", v), w.zh("平均满意度%.1f分（满分5）", v)
	},
	features.CESLatest: func(v, _ float64, w wants) (string, string) {
		return w.en("effort score %.0f of 7", v), w.zh("费力度评分%.0f（满分7）", v)
	},
	features.Complaints30d: func(v, _ float64, w wants) (string, string) {
		return w.en("%.0f complaints in the last 30 days", v), w.zh("近30天投诉%.0f次", v)
	},
	features.SatisfactionIndex: func(v, _ float64, w wants) (string, string) {
		return w.en("satisfaction index %.0f%%", 100*v), w.zh("满意度指数%.0f%%", 100*v)
	},
	features.Complaints90d: func(v, _ float64, w wants) (string, string) {
		return w.en("%.0f complaints in the last 90 days", v), w.zh("近90天投诉%.0f次", v)
	},
	features.Complaints365d: func(v, _ float64, w wants) (string, string) {
		return w.en("%.0f complaints in the last year", v), w.zh("近一年投诉%.0f次", v)
	},
	features.DaysSinceComplaint: func(v, _ float64, w wants) (string, string) {
		return w.en("complained %.0f days ago", v), w.zh("%.0f天前投诉过", v)
	},
	features.SubscriptionDays: func(v, _ float64, w wants) (string, string) {
		return w.en("subscribed %.0f days ago", v), w.zh("订阅已%.0f天", v)
	},
	features.Cancellations: func(v, _ float64, w wants) (string, string) {
		return w.en("cancelled %.0f %s before", v, plural(v, "time")), w.zh("此前取消过%.0f次", v)
	},
	features.DaysSinceCancel: func(v, _ float64, w wants) (string, string) {
		return w.en("cancelled %.0f days ago", v), w.zh("%.0f天前取消过", v)
	},
	features.Tickets90d: func(v, _ float64, w wants) (string, string) {
		return w.en("%.0f support tickets in the last 90 days", v), w.zh("近90天客服工单%.0f个", v)
	},
	features.Returns365d: func(v, _ float64, w wants) (string, string) {
		return w.en("%.0f returns in the last year", v), w.zh("近一年退货%.0f次", v)
	},
	features.BoughtAfterComplaint: func(v, _ float64, w wants) (string, string) {
		if v == 0 {
			return "no order since the last complaint", "最近一次投诉后未再购买"
		}
		return "ordered again after the last complaint", "最近一次投诉后仍有购买"
	},
	features.RepeatRate: func(v, _ float64, w wants) (string, string) {
		return w.en("repeat rate %.0f%%", 100*v), w.zh("复购率%.0f%%", 100*v)
	},
	features.OrdersPerMonth: func(v, _ float64, w wants) (string, string) {
		return w.en("%.2f orders a month", v), w.zh("每月%.2f笔订单", v)
	},
	features.AOVTrend: func(v, _ float64, w wants) (string, string) {
		return w.en("order value %+.0f%% vs earlier orders", 100*v), w.zh("客单价较早期%+.0f%%", 100*v)
	},
	features.SpendVelocity: func(v, _ float64, w wants) (string, string) {
		return w.en("spend trend %+.0f%% (last 90 days vs the 90 before)", 100*v), w.zh("消费趋势%+.0f%%（近90天对比此前90天）", 100*v)
	},
	features.OrderVelocity: func(v, _ float64, w wants) (string, string) {
		return w.en("order trend %+.0f%% (last 90 days vs the 90 before)", 100*v), w.zh("订单趋势%+.0f%%（近90天对比此前90天）", 100*v)
	},
	features.LongestGapDays: func(v, _ float64, w wants) (string, string) {
		return w.en("longest gap %.0f days", v), w.zh("最长间隔%.0f天", v)
	},
	features.Channels: func(v, _ float64, w wants) (string, string) {
		return w.en("buys through %.0f channels", v), w.zh("使用%.0f个渠道", v)
	},
	features.CategoryEntropy: func(v, _ float64, w wants) (string, string) {
		return w.en("category spread %.1f bits", v), w.zh("品类分散度%.1f", v)
	},
	features.TopCategoryShare: func(v, _ float64, w wants) (string, string) {
		return w.en("%.0f%% of spend in one category", 100*v), w.zh("%.0f%%的消费集中在一个品类", 100*v)
	},
	features.BasketItems: func(v, _ float64, w wants) (string, string) {
		return w.en("%.1f items per order", v), w.zh("每单%.1f件", v)
	},
	features.DiscountOrderShare: func(v, _ float64, w wants) (string, string) {
		return w.en("%.0f%% of orders with a discount", 100*v), w.zh("%.0f%%的订单使用折扣", 100*v)
	},
	features.DiscountSpendShare: func(v, _ float64, w wants) (string, string) {
		return w.en("%.0f%% of spend on discounted orders", 100*v), w.zh("%.0f%%的消费来自折扣订单", 100*v)
	},
	features.DiscountDepth: func(v, _ float64, w wants) (string, string) {
		return w.en("average discount %.0f%%", 100*v), w.zh("平均折扣%.0f%%", 100*v)
	},
	features.FullPriceShare: func(v, _ float64, w wants) (string, string) {
		return w.en("%.0f%% bought at full price", 100*v), w.zh("%.0f%%按原价购买", 100*v)
	},
	features.PriceIncreasesSeen: func(v, _ float64, w wants) (string, string) {
		return w.en("saw %.0f price increases on products bought", v), w.zh("购买的商品经历%.0f次涨价", v)
	},
	features.PriceIncreaseResp: func(v, _ float64, w wants) (string, string) {
		return w.en("spend %+.0f%% after price increases", 100*v), w.zh("涨价后消费%+.0f%%", 100*v)
	},
	features.ReturnRateLines: func(v, _ float64, w wants) (string, string) {
		return w.en("returns %.0f%% of items", 100*v), w.zh("退货%.0f%%的商品", 100*v)
	},
	features.SurveyResponseRate: func(v, _ float64, w wants) (string, string) {
		return w.en("answers %.0f%% of surveys", 100*v), w.zh("问卷回复率%.0f%%", 100*v)
	},
	features.PerceivedMinusExp: func(v, _ float64, w wants) (string, string) {
		return w.en("quality %+.1f vs expectation", v), w.zh("感知质量较期望%+.1f", v)
	},
	features.TierRank: func(v, _ float64, w wants) (string, string) {
		return w.en("loyalty tier rank %.0f", v), w.zh("会员等级%.0f级", v)
	},
	features.MonthsInTier: func(v, _ float64, w wants) (string, string) {
		return w.en("%.0f months in the current tier", v), w.zh("当前等级已持续%.0f个月", v)
	},
	features.PointsBalance: func(v, _ float64, w wants) (string, string) {
		return w.en("%.0f loyalty points unused", v), w.zh("积分余额%.0f未使用", v)
	},
	features.PointsEarned365d: func(v, _ float64, w wants) (string, string) {
		return w.en("earned %.0f points in a year", v), w.zh("一年内获得积分%.0f", v)
	},
	features.PointsRedeemed365d: func(v, _ float64, w wants) (string, string) {
		return w.en("redeemed %.0f points in a year", v), w.zh("一年内使用积分%.0f", v)
	},
	features.RedemptionRate: func(v, _ float64, w wants) (string, string) {
		return w.en("redeems %.0f%% of points earned", 100*v), w.zh("积分使用率%.0f%%", 100*v)
	},
	features.DaysSinceRedemption: func(v, _ float64, w wants) (string, string) {
		return w.en("last used points %.0f days ago", v), w.zh("%.0f天前最后一次使用积分", v)
	},
	features.TierChanges365d: func(v, _ float64, w wants) (string, string) {
		return w.en("%.0f tier changes in a year", v), w.zh("一年内等级变动%.0f次", v)
	},
}

// plural is word, with an s unless v is 1.
func plural(v float64, word string) string {
	if v == 1 {
		return word
	}
	return word + "s"
}

// Languages of reasons and actions (Config.Lang).
const (
	LangEN   = "en"
	LangZH   = "zh"
	LangBoth = "both" // Chinese, then English: "中文 | English"
)

// inLang joins the English and Chinese texts as lang asks.
func inLang(lang, en, zh string) string {
	switch lang {
	case LangZH:
		return zh
	case LangBoth:
		return zh + " | " + en
	}
	return en
}

// reasoner finds and phrases the reasons of rows of one feature layout:
// up to three features that push the churn probability up most (largest
// positive log-odds contributions), phrased with their values in its
// language; a feature counts only when the customer's value lies on the
// side of the training mean that goes with churn (see
// ChurnArtifact.Directions). It looks up once what each row would.
type reasoner struct {
	lang        string
	names       []string
	means, dirs []float64
	phrases     []phrase // by column; nil: not a reason
	want        wants    // lang's languages
	gapAt       int      // the usual gap's column, -1 when none
}

func newReasoner(lang string, names []string, means, dirs []float64) *reasoner {
	r := &reasoner{lang: lang, names: names, means: means, dirs: dirs, phrases: make([]phrase, len(names)), gapAt: -1, want: wantsOf(lang)}
	for j, name := range names {
		r.phrases[j] = reasonText[name]
		if name == features.GapMeanDays {
			r.gapAt = j
		}
	}
	return r
}

// top gives the columns of x's reasons, strongest first (-1 after the
// last), from their contributions.
func (r *reasoner) top(x, contrib []float64) [3]int {
	var buf [128]int
	idx := buf[:0]
	means, dirs := r.means, r.dirs
	for j := range r.names {
		agrees := j < len(dirs) && dirs[j] != 0 && x[j] != means[j] && math.Signbit(x[j]-means[j]) == math.Signbit(dirs[j])
		if contrib[j] > 0.05 && agrees && !math.IsNaN(x[j]) && r.phrases[j] != nil {
			idx = append(idx, j)
		}
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(contrib[b], contrib[a]) }) // largest first, ties in column order
	top := [3]int{-1, -1, -1}
	copy(top[:], idx)
	return top
}

// gap is the customer's usual gap between purchase days (NaN when unknown).
func (r *reasoner) gap(x []float64) float64 {
	if r.gapAt < 0 {
		return math.NaN()
	}
	return x[r.gapAt]
}

// text phrases the reasons top (top's columns) of x in the reasoner's
// language.
func (r *reasoner) text(top [3]int, x []float64) string {
	var en, zh [3]string
	n, gap := 0, r.gap(x)
	for _, j := range top {
		if j < 0 {
			break
		}
		en[n], zh[n] = r.phrases[j](x[j], gap, r.want)
		n++
	}
	return inLang(r.lang, strings.Join(en[:n], "; "), strings.Join(zh[:n], "；"))
}

// reasonSet is a customer's reason features, strongest first, as codes:
// 1 + the feature's index in reasonNames, 0 after the last. Three bytes
// instead of a slice of names (about 70 bytes a customer).
type reasonSet [3]uint8

// reasonNames are the features a reason can name: the model's and the
// cancellation under contractual churn.
var reasonNames = func() []string {
	names := slices.Clone(features.ModelColumns)
	if !slices.Contains(names, features.DaysSinceCancel) {
		names = append(names, features.DaysSinceCancel)
	}
	if len(names) > 254 {
		panic("pipeline: too many reason features for a reasonSet")
	}
	return names
}()

// reasonCode is the code of the feature called name, 0 when no reason names it.
var reasonCode = func() map[string]uint8 {
	m := map[string]uint8{}
	for i, n := range reasonNames {
		m[n] = uint8(i + 1)
	}
	return m
}()

// reasonSetOf codes names (at most three, each a reason feature).
func reasonSetOf(names []string) (reasonSet, error) {
	var s reasonSet
	if len(names) > len(s) {
		return s, fmt.Errorf("pipeline: %d reasons, at most %d", len(names), len(s))
	}
	for k, n := range names {
		if s[k] = reasonCode[n]; s[k] == 0 {
			return s, fmt.Errorf("pipeline: %q is not a feature reasons name", n)
		}
	}
	return s, nil
}

// names returns the reasons' feature names, strongest first (nil: none).
func (s reasonSet) names() []string {
	var out []string
	for _, c := range s {
		if c == 0 {
			break
		}
		out = append(out, reasonNames[c-1])
	}
	return out
}

// first returns the strongest reason's feature ("" without reasons).
func (s reasonSet) first() string {
	if s[0] == 0 {
		return ""
	}
	return reasonNames[s[0]-1]
}

// any reports whether one of the reasons is a feature of list.
func (s reasonSet) any(list []string) bool {
	for _, c := range s {
		if c != 0 && slices.Contains(list, reasonNames[c-1]) {
			return true
		}
	}
	return false
}
