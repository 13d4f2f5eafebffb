package pipeline

import (
	"fmt"
	"html/template"
	"io"
)

// reportZH translates the report's fixed texts into Chinese (--lang zh or
// both). Data values (segments, tiers, reasons in the chosen language) are
// as in the list; chart texts stay English, as the charts' fonts lack
// Chinese glyphs.
var reportZH = map[string]string{
	"Brier score": "Brier分数", "CES": "CES", "CLV": "CLV", "CLV deciles": "CLV十分位", "CSAT": "CSAT",
	"Churn means": "流失定义",
	"a cancel event within the horizon (contractual churn); customers cancelled by the as-of day are left out of training and listed as churned, with no value left": "观察期内取消订阅/解约（合约型流失）；评分日前已取消的客户不参与训练，在名单中记为已流失、剩余价值为0",
	"no order within the horizon": "观察期内无订单", "days": "天",
	"Calibration": "校准", "Campaign sizing": "活动规模测算",
	"Cohort retention: share of each acquisition month's customers ordering k months later":                                        "同期群留存：各获客月份客户在第k个月仍有购买的比例",
	"Customers and, below, their value at risk, by RFM segment and loyalty-programme tier at the as-of day.":                       "按RFM分群与会员等级统计的客户数（下方为其风险价值），截至评分日。",
	"Customers by recency score (5 = most recent) and frequency score; below, their mean churn probability (green low, red high).": "按近度分（5为最近）与频次分统计的客户数；下方为平均流失概率（绿低红高）。",
	"Customers in tenths by predicted CLV, most valuable first.":                                                                   "按预测CLV将客户分为十等份，价值最高者在前。",
	"Data quality": "数据质量", "Distribution": "分布", "Every move is in movers.csv beside this page.": "全部变动见本页旁的movers.csv。",
	"Gains": "累积增益", "Gamma-Gamma p, q, γ": "Gamma-Gamma p, q, γ",
	"Mean predicted probability against the observed churn rate in ten bins; on the diagonal is perfectly calibrated.": "十个区间内的平均预测概率与实际流失率；落在对角线上即完全校准。",
	"NPS (n)": "NPS（样本数）", "New at high risk, most value first": "新进入高风险的客户（按价值排序）",
	"No earlier list in this work directory to compare with.": "工作目录中没有更早的名单可供比较。",
	"No ingest log in this work directory.":                   "工作目录中没有导入日志。",
	"P(alive)":                                                "存活概率", "P(churn)": "流失概率", "P(churn) was → now": "流失概率 之前 → 现在", "PR AUC": "PR AUC",
	"R ↓ / F →": "R ↓ / F →", "RFM heatmap": "RFM热力图", "ROC AUC": "ROC AUC", "Risk tiers": "风险等级",
	"Segments (RFM)": "客户分群（RFM）", "Segments × loyalty tiers": "分群 × 会员等级",
	"Set --contact-cost, --save-rate, --budget and --top on score or run.":                                                           "可在score或run中设置 --contact-cost、--save-rate、--budget 和 --top。",
	"Share of the validation snapshot's churners among the riskiest customers, against random contact.":                              "验证快照中的流失客户被风险最高的客户覆盖的比例，对比随机联系。",
	"The feature that raises each medium- or high-risk customer's churn probability most.":                                           "对每位中高风险客户流失概率贡献最大的特征。",
	"The full list is retention_list.csv beside this page.":                                                                          "完整名单见本页旁的retention_list.csv。",
	"The last ingests, newest first; quarantined rows are in warehouse/_quarantine/<ingest>.csv with file, line, column and reason.": "最近的导入（最新在前）；隔离的行在warehouse/_quarantine/<导入ID>.csv中，含文件、行号、列与原因。",
	"Top of the list": "名单前列", "Top reasons among customers at risk": "风险客户的主要原因",
	"active": "活跃", "active customers": "活跃客户", "active last month": "上月活跃", "actual": "实际", "avg order": "客单价",
	"band": "区间", "calibration error": "校准误差", "came back (ordered again after medium or high risk)": "回流（中高风险后再次购买）",
	"cancelled lines": "取消行", "candidate": "候选模型", "churn": "流失率", "churn model AUC (out of time)": "流失模型AUC（时间外验证）",
	"churn rate": "流失率", "churned": "流失", "cohort": "同期群", "complaints / active": "投诉/活跃", "contact": "联系",
	"control": "对照组", "customer": "客户", "customers": "客户数", "customers scored": "评分客户数", "decile": "十分位",
	"duplicates dropped": "去重行数", "entered high risk": "进入高风险", "files": "文件数", "first reason": "首要原因",
	"from CLV": "CLV下限", "guest rows": "游客行", "holdout MAE": "留出期MAE", "in sample": "样本内", "ingest": "导入",
	"last order": "最近下单", "lift, top decile": "前10%提升度", "loaded": "已载入", "log loss": "对数损失",
	"log-likelihood": "对数似然", "loyalty tier": "会员等级", "mean CLV": "平均CLV", "mean P(churn)": "平均流失概率",
	"mean predicted CLV": "平均预测CLV", "metric": "指标", "model": "模型", "month": "月份", "move": "变动", "new": "新客",
	"new on the list": "新上榜", "non-product lines": "非商品行", "orders / active": "订单/活跃", "out of time": "时间外",
	"parameter": "参数", "predicted": "预测", "quarantined": "已隔离", "reactivated": "召回", "reasons": "原因",
	"repeat purchase rate": "复购率", "repeat rate": "复购率", "retained": "留存", "retention": "留存率", "retention rate": "留存率",
	"returns": "退货率", "revenue / active": "收入/活跃", "risk": "风险", "risk down": "风险下降", "risk up (to medium)": "风险上升（至中）",
	"rows read": "读取行数", "segment": "分群", "share": "占比", "share of CLV": "CLV占比", "suggested action": "建议行动",
	"tier": "等级", "tier at month start": "月初等级", "total CLV": "CLV合计", "total predicted CLV": "预测CLV合计",
	"total value at risk": "风险价值合计", "value": "数值", "value at risk": "风险价值", "was": "之前",
	"Loyalty KPIs": "忠诚度指标", "By loyalty tier": "按会员等级", "Movers": "变动客户", "since": "自",
	"A customer counts from the month of the first order. Retained: ordered this month and last month; reactivated: this month, not last month, but before; churned: last month, not this month. Retention and churn rate are shares of last month's active customers; the repeat purchase rate is the share of customers with two or more orders. NPS = % promoters − % detractors of the month's answers. Segments are loyalty tiers at the start of the month. Files: kpis.csv, kpis.parquet and cohorts.csv beside this page.": "客户自首单月份起计入。留存：本月与上月均有购买；召回：本月有购买、上月没有但此前有；流失：上月有购买、本月没有。留存率与流失率以上月活跃客户为基数；复购率为有两笔及以上订单的客户占比。NPS = 推荐者% − 贬损者%（当月答卷）。分群为月初的会员等级。文件：本页旁的kpis.csv、kpis.parquet和cohorts.csv。",
}

// writeReportLang writes the report in English, or in Chinese for zh and both.
func writeReportLang(w io.Writer, r report, lang string) error {
	if lang == LangEN {
		return writeReport(w, r)
	}
	t, err := reportTemplate.Clone()
	if err != nil {
		return fmt.Errorf("pipeline: report: %w", err)
	}
	r.ZH = true
	t.Funcs(template.FuncMap{"t": func(s string) string {
		if z, ok := reportZH[s]; ok {
			return z
		}
		return s
	}})
	if err := t.Execute(w, r); err != nil {
		return fmt.Errorf("pipeline: report: %w", err)
	}
	return nil
}
