package datasets

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Preset is the standard order export of a shop platform: which of its
// columns feed which mapping key (as normaliseHeader writes header names;
// a key with an empty list is not recognised at all, so an order-level
// "Total" cannot pass for a line amount), and the rules its data need.
type Preset struct {
	Name, Doc string
	Aliases   map[string][]string
	// GuestKey, CancelPrefix and CancelStatuses become the ReadOptions'
	// unless set explicitly; GuestIDs are ids that mean "no customer".
	GuestKey       string
	CancelPrefix   string
	CancelStatuses []string
	GuestIDs       []string
}

// Presets are the built-in presets by name (README.md, "Shop exports").
var Presets = map[string]Preset{
	"shopify": {
		Name: "shopify",
		Doc:  "Shopify admin › Orders › Export (CSV for Excel): one row per line item; order fields (Email, Created at, Financial Status, Cancelled at) on the order's first row only, filled down; customers by email",
		Aliases: map[string][]string{
			KeyCustomerID: {}, KeyEmail: {"email"}, KeyOrderID: {"name"}, KeyLineID: {},
			KeyTS: {"created_at"}, KeyQuantity: {"lineitem_quantity"}, KeyUnitPrice: {"lineitem_price"},
			KeyDiscount: {"lineitem_discount"}, KeyAmount: {}, KeyLineTotal: {}, KeyProductID: {"lineitem_sku"},
			KeyDescription: {"lineitem_name"}, KeyStatus: {"financial_status"}, KeyCancelledAt: {"cancelled_at"},
			KeyChannel: {"source"}, KeyCategory: {}, KeyRefunded: {"refunded_amount"},
		},
		GuestKey: GuestKeyEmail,
	},
	"woocommerce": {
		Name: "woocommerce",
		Doc:  "WooCommerce order export with one row per line item (order_number, order_date, status, customer_id, billing_email, item_id, item_sku, item_name, item_quantity, item_total); customer_id 0 is a guest, identified by billing email",
		Aliases: map[string][]string{
			KeyCustomerID: {"customer_id", "customer_user"}, KeyEmail: {"billing_email", "customer_email"},
			KeyOrderID: {"order_number", "order_id"}, KeyLineID: {"item_id", "line_item_id"}, KeyTS: {"order_date", "date_created"},
			KeyQuantity: {"item_quantity", "quantity"}, KeyLineTotal: {"item_total", "line_total"}, KeyUnitPrice: {"item_price"},
			KeyAmount: {}, KeyDiscount: {"item_discount"}, KeyProductID: {"item_sku", "sku", "product_id"},
			KeyDescription: {"item_name"}, KeyStatus: {"status", "order_status"}, KeyCancelledAt: {},
			KeyCategory: {"item_category", "category"}, KeyChannel: {"created_via"}, KeyRefunded: {"order_refund", "refund_total", "total_refunded"},
		},
		GuestKey:       GuestKeyEmail,
		GuestIDs:       []string{"0"},
		CancelStatuses: []string{"cancelled", "refunded", "failed", "wc-cancelled", "wc-refunded", "wc-failed"},
	},
	"magento": {
		Name: "magento",
		Doc:  "Magento 2 admin › Sales › Orders › Export CSV (the order grid): one row per order, ID, Purchase Date, Subtotal or Grand Total (Purchased), Status, Customer Email; closed (refunded) and canceled orders are cancelled",
		Aliases: map[string][]string{
			KeyCustomerID: {"customer_id"}, KeyEmail: {"customer_email"}, KeyOrderID: {"id", "increment_id"},
			KeyTS: {"purchase_date", "created_at"}, KeyAmount: {"subtotal", "grand_total_(purchased)", "grand_total"},
			KeyLineTotal: {}, KeyUnitPrice: {}, KeyQuantity: {"total_qty_ordered"}, KeyStatus: {"status"},
			KeyChannel: {"purchase_point"}, KeyLineID: {}, KeyProductID: {}, KeyDescription: {}, KeyCategory: {}, KeyDiscount: {},
			KeyRefunded: {"total_refunded"},
		},
		GuestKey:       GuestKeyEmail,
		CancelStatuses: []string{"canceled", "cancelled", "closed"},
	},
	"generic-lines": {
		Name: "generic-lines",
		Doc:  "ERP or POS order lines (e.g. InvoiceNo, StockCode, Description, Quantity, InvoiceDate, UnitPrice, CustomerID): amount = quantity × unit price; invoices starting with C are cancellations; postage, fees and vouchers set aside",
		Aliases: map[string][]string{
			KeyCustomerID:  {"customerid", "customer_id", "customer", "customer_no", "member_id", "客户id", "会员号"},
			KeyOrderID:     {"invoiceno", "invoice", "invoice_no", "order_id", "order_no", "document_no", "receipt_no", "订单号", "单号"},
			KeyProductID:   {"stockcode", "stock_code", "sku", "item_code", "product_code", "product_id", "商品编码"},
			KeyDescription: {"description", "item_name", "product_name", "商品名称"},
			KeyQuantity:    {"quantity", "qty", "数量"}, KeyUnitPrice: {"unitprice", "unit_price", "price", "单价"},
			KeyTS:     {"invoicedate", "invoice_date", "order_date", "date", "日期"},
			KeyAmount: {}, KeyLineTotal: {"line_total", "amount", "total", "金额"},
		},
		CancelPrefix: "C",
	},
}

// PresetNames lists the presets in a stable order.
func PresetNames() []string { return slices.Sorted(maps.Keys(Presets)) }

// ApplyPreset fills opt from the named preset: its aliases, and its guest
// key, cancellation prefix and statuses where opt leaves them unset.
func ApplyPreset(opt *ReadOptions, name string) error {
	p, ok := Presets[name]
	if !ok {
		return fmt.Errorf("datasets: preset %q: want one of %s", name, strings.Join(PresetNames(), ", "))
	}
	opt.Aliases = p.Aliases
	if opt.GuestKey == "" {
		opt.GuestKey = p.GuestKey
	}
	if opt.CancelPrefix == "" {
		opt.CancelPrefix = p.CancelPrefix
	}
	if opt.CancelStatuses == nil {
		opt.CancelStatuses = p.CancelStatuses
	}
	opt.GuestIDs = p.GuestIDs
	return nil
}

// withAliases returns t with the alias lists of the keys in over replaced.
func (t Table) withAliases(over map[string][]string) Table {
	if len(over) == 0 {
		return t
	}
	aliases := maps.Clone(t.Aliases)
	maps.Copy(aliases, over)
	t.Aliases = aliases
	return t
}
