package datasets

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// lineText is a compact, comparable form of a canonical line.
func lineText(t Transaction) string {
	kind := t.LineKind
	if kind == "" {
		kind = "product"
	}
	return fmt.Sprintf("%s %s %s %s q%d %s %s", t.CustomerID, t.OrderID, time.UnixMicro(t.TS).UTC().Format("2006-01-02T15:04"), FormatCents(t.AmountCents), t.Quantity, t.ProductID, kind)
}

func readLines(t *testing.T, data string, opt ReadOptions) (FileStats, []string, []BadRow) {
	t.Helper()
	path := writeFile(t, t.TempDir(), "export.csv", []byte(data))
	st, rows, bad := readFile(t, path, opt)
	var out []string
	for _, r := range rows {
		out = append(out, lineText(r))
	}
	return st, out, bad
}

func presetOptions(t *testing.T, name string) ReadOptions {
	t.Helper()
	var opt ReadOptions
	if err := ApplyPreset(&opt, name); err != nil {
		t.Fatal(err)
	}
	return opt
}

// Each preset reads a small export with its platform's exact headers.
func TestPresets(t *testing.T) {
	tests := []struct {
		preset, data string
		want         []string
		check        func(t *testing.T, st FileStats)
	}{{
		preset: "shopify",
		// Order fields only on an order's first row; #1002 was cancelled;
		// #1003 has no email (a guest); Total is order-level and ignored.
		// #1001 was partly refunded (Refunded Amount, order-level).
		data: "Name,Email,Financial Status,Paid at,Fulfillment Status,Currency,Subtotal,Shipping,Taxes,Total,Discount Code,Discount Amount,Created at,Lineitem quantity,Lineitem name,Lineitem price,Lineitem compare at price,Lineitem sku,Lineitem discount,Cancelled at,Refunded Amount,Source\n" +
			"#1001,Ann@Example.com,partially_refunded,2024-03-05 14:25:00 +0800,fulfilled,USD,45.00,5.00,0,50.00,,0,2024-03-05 14:22:10 +0800,2,Mug,10.00,,MUG-1,0,,5.00,web\n" +
			"#1001,,,,,,,,,,,,,1,Tea,25.00,,TEA-1,5.00,,,\n" +
			"#1002,bob@example.com,voided,,,USD,9.99,0,0,9.99,,0,2024-03-06 09:00:00 +0800,1,Cap,9.99,,CAP-1,0,2024-03-07 10:00:00 +0800,9.99,web\n" +
			"#1003,,paid,,,USD,5,0,0,5,,0,2024-03-06 10:00:00 +0800,1,Pin,5.00,,PIN-1,0,,0.00,pos\n",
		want: []string{
			"ann@example.com #1001 2024-03-05T06:22 20.00 q2 MUG-1 product",
			"ann@example.com #1001 2024-03-05T06:22 -5.00 q0  cancellation",
			"ann@example.com #1001 2024-03-05T06:22 20.00 q1 TEA-1 product",
			"bob@example.com #1002 2024-03-06T01:00 9.99 q1 CAP-1 product",
			"bob@example.com #1002 2024-03-07T02:00 -9.99 q-1 CAP-1 cancellation",
		},
		check: func(t *testing.T, st FileStats) {
			// #1002's refund is its cancellation: not counted twice.
			if st.Guests != 1 || st.CancelledLines != 1 || st.RefundLines != 1 || st.Columns[KeyAmount] != "" || st.Columns[KeyEmail] != "Email" {
				t.Errorf("stats %+v", st)
			}
		},
	}, {
		preset: "woocommerce",
		data: "order_id,order_number,order_date,status,customer_id,billing_email,item_id,item_name,item_sku,item_quantity,item_total\n" +
			"501,501,2024-03-05 10:00:00,completed,17,carl@example.com,9001,Mug,MUG-1,2,19.98\n" +
			"501,501,2024-03-05 10:00:00,completed,17,carl@example.com,9002,Shipping,,1,4.50\n" +
			"502,502,2024-03-06 11:00:00,completed,0,Dana@Example.com,9003,Cap,CAP-1,1,9.99\n" +
			"503,503,2024-03-07 12:00:00,cancelled,17,carl@example.com,9004,Pin,PIN-1,1,5.00\n",
		want: []string{
			"17 501 2024-03-05T10:00 19.98 q2 MUG-1 product",
			"17 501 2024-03-05T10:00 4.50 q1  shipping",
			"dana@example.com 502 2024-03-06T11:00 9.99 q1 CAP-1 product",
			"17 503 2024-03-07T12:00 5.00 q1 PIN-1 product",
			"17 503 2024-03-07T12:00 -5.00 q-1 PIN-1 cancellation",
		},
		check: func(t *testing.T, st FileStats) {
			if st.Guests != 0 || st.NonProduct[LineShipping] != 1 || st.CancelledLines != 1 {
				t.Errorf("stats %+v", st)
			}
		},
	}, {
		preset: "magento",
		data: "ID,Purchase Point,Purchase Date,Bill-to Name,Ship-to Name,Grand Total (Base),Grand Total (Purchased),Status,Customer Email,Subtotal,Shipping and Handling,Total Refunded\n" +
			"000000001,Main Website,\"Mar 5, 2024 2:22:10 PM\",Ann,Ann,$55.00,$55.00,complete,ann@example.com,\"$1,050.00\",$5.00,$50.00\n" +
			"000000002,Main Website,\"Mar 6, 2024 9:00:00 AM\",Bob,Bob,$20.00,$20.00,closed,bob@example.com,$15.00,$5.00,$20.00\n",
		want: []string{
			"ann@example.com 000000001 2024-03-05T14:22 1050.00 q0  product",
			"ann@example.com 000000001 2024-03-05T14:22 -50.00 q0  cancellation",
			"bob@example.com 000000002 2024-03-06T09:00 15.00 q0  product",
			"bob@example.com 000000002 2024-03-06T09:00 -15.00 q0  cancellation",
		},
	}, {
		preset: "generic-lines",
		// The UCI Online Retail layout: spreadsheet ids, C invoices, postage.
		data: "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n" +
			"536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26,2.55,17850.0,United Kingdom\n" +
			"536365,POST,POSTAGE,1,2010-12-01 08:26,18.00,17850.0,United Kingdom\n" +
			"C536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,-2,2010-12-02 09:00,2.55,17850.0,United Kingdom\n" +
			"C536999,22633,HAND WARMER UNION JACK,-1,2010-12-03 10:00,1.85,17850.0,United Kingdom\n" +
			"536366,22633,HAND WARMER UNION JACK,6,2010-12-01 08:28,1.85,,United Kingdom\n" +
			"536367,gift_0001_20,Dotcomgiftshop Gift Voucher £20.00,1,2010-12-01 09:00,17.02,13047,United Kingdom\n",
		want: []string{
			"17850 536365 2010-12-01T08:26 15.30 q6 85123A product",
			"17850 536365 2010-12-01T08:26 18.00 q1 POST shipping",
			"17850 C536365 2010-12-02T09:00 -5.10 q-2 85123A cancellation",
			"17850 C536999 2010-12-03T10:00 -1.85 q-1 22633 cancellation",
			"13047 536367 2010-12-01T09:00 17.02 q1 gift_0001_20 voucher",
		},
		check: func(t *testing.T, st FileStats) {
			if st.Guests != 1 || st.CancelLines != 2 || st.NonProduct[LineShipping] != 1 || st.NonProduct[LineVoucher] != 1 {
				t.Errorf("stats %+v", st)
			}
		},
	}}
	for _, tc := range tests {
		t.Run(tc.preset, func(t *testing.T) {
			st, got, bad := readLines(t, tc.data, presetOptions(t, tc.preset))
			if len(bad) > 0 {
				t.Fatalf("bad rows: %+v", bad)
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("lines:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			if tc.check != nil {
				tc.check(t, st)
			}
		})
	}
}

// amount = quantity × unit price − discount, rounded to cents once.
func TestLineAmountFromParts(t *testing.T) {
	data := "customer_id,ts,quantity,unit_price,discount\n" +
		"a,2024-01-01,3,0.333,\n" + // 0.999 → 1.00
		"a,2024-01-01,1,0.125,\n" + // 0.125 → 0.13 (half away from zero)
		"a,2024-01-01,7,19.99,5\n" + // 139.93 − 5 = 134.93
		"a,2024-01-01,-2,2.55,0.10\n" + // a return: −5.10 + 0.10 = −5.00
		"a,2024-01-01,,4.20,\n" + // no quantity: 1
		"a,2024-01-01,2,¥1.005,\n" + // 2.01
		"a,2024-01-01,2,abc,\n" // bad unit price
	st, got, bad := readLines(t, data, ReadOptions{})
	want := []string{"1.00", "0.13", "134.93", "-5.00", "4.20", "2.01"}
	for i, w := range want {
		if i >= len(got) || !strings.Contains(got[i], " "+w+" ") {
			t.Errorf("line %d = %v, want amount %s", i, got, w)
		}
	}
	if len(bad) != 1 || bad[0].Field != "unit_price" || !strings.Contains(bad[0].Reason, "unit price") || st.Loaded != 6 {
		t.Errorf("bad %+v, stats %+v", bad, st)
	}
	// An amount or line total column wins over the parts; negative
	// quantities make a positive amount a refund.
	_, got, _ = readLines(t, "customer_id,ts,quantity,unit_price,line_total\na,2024-01-01,2,10,19.50\na,2024-01-01,-1,10,10\n", ReadOptions{})
	if !strings.Contains(got[0], " 19.50 ") || !strings.Contains(got[1], " -10.00 ") {
		t.Errorf("line totals: %v", got)
	}
}

func TestGuestsAndIDs(t *testing.T) {
	data := "customer_id,email,ts,amount\n17850.0,,2024-01-01,1\n,Guest@Example.COM,2024-01-02,2\n,,2024-01-03,3\n 0042 ,,2024-01-04,4\nAnn@X.com,,2024-01-05,5\n"
	st, got, _ := readLines(t, data, ReadOptions{})
	ids := []string{}
	for _, g := range got {
		ids = append(ids, strings.Fields(g)[0])
	}
	if strings.Join(ids, ",") != "17850,0042,ann@x.com" || st.Guests != 2 || st.Bad != 0 {
		t.Errorf("ids %v, stats %+v", ids, st)
	}
	st, got, _ = readLines(t, data, ReadOptions{GuestKey: GuestKeyEmail})
	if len(got) != 4 || !strings.HasPrefix(got[1], "guest@example.com ") || st.Guests != 1 {
		t.Errorf("with --guest-key email: %v, stats %+v", got, st)
	}
	// An email column alone identifies customers only with the guest key.
	path := writeFile(t, t.TempDir(), "e.csv", []byte("email,ts,amount\na@x.com,2024-01-01,1\n"))
	if _, err := ReadTransactionFile(context.Background(), path, ReadOptions{}, func(Transaction) error { return nil }, nil); err == nil || !strings.Contains(err.Error(), "--guest-key email") {
		t.Errorf("email without guest key: %v", err)
	}
}

func TestNonProductRules(t *testing.T) {
	rules, err := ParseNonProductRules("default,fee=PAYPAL*,voucher=store credit")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ code, desc, want string }{
		{"POST", "", LineShipping}, {"post", "", LineShipping}, {"", "Postage & packing", LineShipping}, {"", "UK shipping", LineShipping},
		{"", "运费", LineShipping}, {"AMAZONFEE", "", LineFee}, {"PAYPAL-2", "", LineFee}, {"", "Store credit refund", LineVoucher},
		{"gift_0001_10", "", LineVoucher}, {"", "Gift Card $50", LineVoucher}, {"M", "Manual", LineAdjustment},
		{"", "coffee mug", ""}, {"", "postcard set", ""}, {"POSTER", "", ""}, {"85123A", "WHITE HEART", ""},
	} {
		if got := classify(rules, tc.code, tc.desc); got != tc.want {
			t.Errorf("classify(%q, %q) = %q, want %q", tc.code, tc.desc, got, tc.want)
		}
		if got := newClassifier(rules).kind(tc.code, tc.desc); got != tc.want {
			t.Errorf("compiled classifier(%q, %q) = %q, want %q", tc.code, tc.desc, got, tc.want)
		}
	}
	// The compiled classifier answers as classify for codes of every
	// length, in any case, ASCII or not (upper-casing "ǆ" or "ß" changes
	// the byte length; the compiled one skips its map by length).
	c := newClassifier(rules)
	codes := []string{"poſt", "ſhipping", "ǆ", "ǅ", "ß", "ſt", "运费", "ﬀ", "ǆOST", "pOsT", "Dot", "c2", "m", "mm", "bank charges", "BANK CHARGES ", "gift_", "GIFT_X", "paypal", "PAYPAL", "amazonfee"}
	for n := range 20 {
		codes = append(codes, strings.Repeat("x", n), strings.Repeat("P", n), "P"+strings.Repeat("0", n))
	}
	for _, r := range rules {
		codes = append(codes, r.Pattern, strings.ToLower(r.Pattern), strings.ToUpper(r.Pattern), r.Pattern+"x", strings.TrimSuffix(r.Pattern, "*"))
	}
	for _, code := range codes {
		if got, want := c.kind(code, ""), classify(rules, code, ""); got != want {
			t.Errorf("compiled classifier(%q) = %q, classify %q", code, got, want)
		}
	}
	if r, err := ParseNonProductRules("none"); err != nil || len(r) != 0 {
		t.Errorf("none: %v, %v", r, err)
	}
	for _, bad := range []string{"shipping", "gift=x", "fee="} {
		if _, err := ParseNonProductRules(bad); err == nil {
			t.Errorf("ParseNonProductRules(%q): want an error", bad)
		}
	}
}

// Discounts and loyalty points are kept per line; a cancelled line's
// counterpart takes the points back; bad points are bad rows naming the column.
func TestDiscountAndPoints(t *testing.T) {
	data := "customer_id,order_id,ts,amount,discount,获得积分,使用积分,status\n" +
		"a,1,2024-01-01,90.00,10.00,90,,paid\n" +
		"a,2,2024-01-02,50.00,,50,200,cancelled\n" +
		"a,3,2024-01-03,20.00,-2.5,20.4,,paid\n" +
		"a,4,2024-01-04,20.00,,many,,paid\n"
	path := writeFile(t, t.TempDir(), "export.csv", []byte(data))
	_, rows, bad := readFile(t, path, ReadOptions{})
	var got []string
	for _, r := range rows {
		got = append(got, fmt.Sprintf("%s %s d%d e%d r%d", r.OrderID, FormatCents(r.AmountCents), r.DiscountCents, r.PointsEarned, r.PointsRedeemed))
	}
	want := "1 90.00 d1000 e90 r0|2 50.00 d0 e50 r200|2 -50.00 d0 e-50 r-200|3 20.00 d250 e20 r0"
	if strings.Join(got, "|") != want {
		t.Errorf("lines\n%s\nwant\n%s", strings.Join(got, "|"), want)
	}
	if len(bad) != 1 || bad[0].Line != 5 || bad[0].Field != "获得积分" || !strings.Contains(bad[0].Reason, `points "many"`) {
		t.Errorf("bad rows: %+v", bad)
	}
}

// The list unit price is kept (rounded to cents) whenever the export has
// one, with or without an amount column; without one it is 0.
func TestUnitPriceKept(t *testing.T) {
	for _, tc := range []struct{ data, want string }{
		{"customer_id,ts,quantity,unit_price,discount\na,2024-01-01,7,19.99,5\na,2024-01-01,1,0.125,\n", "1999 13"},
		{"customer_id,ts,quantity,unit_price,line_total\na,2024-01-01,2,10,19.50\n", "1000"},
		{"customer_id,ts,amount\na,2024-01-01,5\n", "0"},
	} {
		path := writeFile(t, t.TempDir(), "export.csv", []byte(tc.data))
		_, rows, bad := readFile(t, path, ReadOptions{})
		var got []string
		for _, r := range rows {
			got = append(got, fmt.Sprint(r.UnitPriceCents))
		}
		if strings.Join(got, " ") != tc.want || len(bad) > 0 {
			t.Errorf("%q: unit prices %v (bad %v), want %s", tc.data, got, bad, tc.want)
		}
	}
}
