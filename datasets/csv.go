package datasets

import (
	"encoding/csv"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// ColumnMap maps a mapping key (KeyCustomerID, KeyAmount, ...) to a source
// header name. Keys not present are recognised from the header automatically.
type ColumnMap map[string]string

// Table describes an input table for mapping: its keys in order, the
// header names recognised per key (as normaliseHeader writes them, in order
// of preference) and the keys a file must have.
type Table struct {
	Name     string
	Keys     []string
	Aliases  map[string][]string
	Required []string
}

// Transactions is the transactions input table (DESIGN.md, "Contracts").
// Besides ts it needs a customer id or email, and an amount, line total or
// unit price (readTransactions checks those alternatives).
var Transactions = Table{Name: "transactions", Keys: MappingKeys, Aliases: headerAliases, Required: []string{KeyTS}}

// ParseColumnMap parses "key=header,key=header" as given to --map, for the
// transactions table.
func ParseColumnMap(s string) (ColumnMap, error) { return Transactions.ParseColumnMap(s) }

// ParseColumnMap parses "key=header,key=header" for table t.
func (t Table) ParseColumnMap(s string) (ColumnMap, error) {
	m := ColumnMap{}
	if strings.TrimSpace(s) == "" {
		return m, nil
	}
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(part, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" || v == "" {
			return nil, fmt.Errorf("datasets: %s mapping entry %q: want key=column", t.Name, part)
		}
		if !slices.Contains(t.Keys, k) {
			return nil, fmt.Errorf("datasets: %s mapping key %q: want one of %s", t.Name, k, strings.Join(t.Keys, ", "))
		}
		m[k] = v
	}
	return m, nil
}

// headerAliases are recognised header names per mapping key, in order of
// preference, as normaliseHeader writes them (lower case, _ for spaces).
var headerAliases = map[string][]string{
	KeyCustomerID: {"customer_id", "customerid", "customer_no", "customer_number", "customer", "client_id", "user_id", "member_id", "cust", "id",
		"客户id", "客户编号", "客户号", "会员号", "会员id", "会员编号", "会员卡号", "用户id", "顾客id", "客户"},
	KeyOrderID: {"order_id", "orderid", "order_no", "order_number", "order", "invoice", "invoice_no", "invoiceno", "transaction_id",
		"订单号", "订单编号", "订单id", "单号", "交易号", "流水号"},
	KeyLineID: {"line_id", "line", "line_no", "line_number", "lineitem_id", "line_item_id", "order_line", "position", "行号", "明细行号"},
	KeyTS: {"ts", "timestamp", "date", "order_date", "created_at", "datetime", "time", "invoicedate", "invoice_date", "transaction_date", "purchase_date",
		"交易时间", "下单时间", "订单日期", "交易日期", "购买时间", "支付时间", "日期", "时间"},
	KeyAmount: {"amount", "sales", "revenue", "total", "order_total", "amount_paid", "value", "spent", "dollar_value",
		"金额", "消费金额", "实付金额", "订单金额", "交易金额", "实收金额", "销售额", "支付金额"},
	KeyLineTotal:      {"line_total", "item_total", "lineitem_total", "line_amount", "total_price", "小计", "行金额"},
	KeyUnitPrice:      {"unit_price", "unitprice", "price", "item_price", "lineitem_price", "item_cost", "单价", "价格", "商品单价"},
	KeyDiscount:       {"discount", "line_discount", "lineitem_discount", "discount_amount", "折扣", "优惠", "优惠金额", "折扣金额"},
	KeyEmail:          {"email", "e_mail", "customer_email", "billing_email", "email_address", "邮箱"},
	KeyStatus:         {"status", "order_status", "financial_status", "state", "订单状态", "状态"},
	KeyRefunded:       {"refunded_amount", "total_refunded", "refund_amount", "amount_refunded", "退款金额"},
	KeyCancelledAt:    {"cancelled_at", "canceled_at", "cancelled_date", "cancellation_date", "取消时间"},
	KeyDescription:    {"description", "product_name", "item_name", "lineitem_name", "name", "title", "商品名称", "品名", "描述"},
	KeyQuantity:       {"quantity", "qty", "units", "cds", "数量", "件数", "购买数量"},
	KeyProductID:      {"product_id", "productid", "sku", "stockcode", "product", "商品id", "商品编号", "商品编码", "商品"},
	KeyCategory:       {"category", "product_category", "品类", "类目", "商品类别", "分类"},
	KeyChannel:        {"channel", "sales_channel", "渠道", "销售渠道"},
	KeyPointsEarned:   {"points_earned", "earned_points", "points", "loyalty_points", "reward_points", "获得积分", "赠送积分", "积分"},
	KeyPointsRedeemed: {"points_redeemed", "redeemed_points", "points_used", "points_spent", "used_points", "使用积分", "积分抵扣", "抵扣积分", "消耗积分"},
}

// headerSeparators are written as _ by normaliseHeader.
var headerSeparators = strings.NewReplacer(" ", "_", "-", "_", ".", "_")

// normaliseHeader lower-cases a header and writes spaces and dashes as _.
func normaliseHeader(h string) string {
	if h == "" {
		return ""
	}
	h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
	return headerSeparators.Replace(h)
}

// ResolveColumns returns, per transactions mapping key, the index of its
// column in header (-1 when absent). Explicit mappings must exist;
// customer_id, ts and amount are required.
func ResolveColumns(file string, header []string, m ColumnMap) (map[string]int, error) {
	return Transactions.ResolveColumns(file, header, m)
}

// ResolveColumns returns, per mapping key of t, the index of its column in
// header (-1 when absent). Explicit mappings must exist, and so must t's
// required keys.
func (t Table) ResolveColumns(file string, header []string, m ColumnMap) (map[string]int, error) {
	idx := map[string]int{}
	lower := make(map[string]int, len(header))
	for i, h := range header {
		h = normaliseHeader(h)
		if _, dup := lower[h]; !dup {
			lower[h] = i
		}
	}
	for _, k := range t.Keys {
		idx[k] = -1
		if src, ok := m[k]; ok {
			i, found := lower[normaliseHeader(src)]
			if !found {
				return nil, &DataError{File: file, Line: 1, Msg: fmt.Sprintf("mapped column %q for %s not in header %q", src, k, header)}
			}
			idx[k] = i
			continue
		}
		for _, alias := range t.Aliases[k] {
			if i, found := lower[alias]; found {
				idx[k] = i
				break
			}
		}
	}
	// An alias must not take a column that an explicit mapping claimed.
	used := map[int]string{}
	keys := slices.Clone(t.Keys)
	sort.SliceStable(keys, func(a, b int) bool { _, ea := m[keys[a]]; _, eb := m[keys[b]]; return ea && !eb })
	for _, k := range keys {
		if i := idx[k]; i >= 0 {
			if other, taken := used[i]; taken {
				if _, explicit := m[k]; explicit {
					return nil, &DataError{File: file, Line: 1, Msg: fmt.Sprintf("column %q mapped to both %s and %s", header[i], other, k)}
				}
				idx[k] = -1
				continue
			}
			used[i] = k
		}
	}
	for _, k := range t.Required {
		if idx[k] < 0 {
			flag := "--map"
			if t.Name != Transactions.Name {
				flag = "--" + t.Name + "-map"
			}
			return nil, &DataError{File: file, Line: 1, Msg: fmt.Sprintf("no column for %s in header %q; map one with %s %s=<column>", k, header, flag, k)}
		}
	}
	return idx, nil
}

func csvError(name string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &DataError{File: name, Line: pe.Line, Column: pe.Column, Msg: pe.Err.Error()}
	}
	return fmt.Errorf("datasets: read %s: %w", name, err)
}
