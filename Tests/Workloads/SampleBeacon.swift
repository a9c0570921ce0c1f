/// A realistic ~1.2 KB web beacon with 10 events (a page view, actions, requests, a resource, a
/// failed request, an error, a heartbeat, a custom event, props and timings): the one body the
/// parser's tests and `clickpath-bench ingress` share.
public enum SampleBeacon {
    public static let realistic = #"""
        {"app":"shop","platform":"web","visitor":"v-7f3a9c2e-41d8","session":"s-1700000000-ab12","user":"alice@example.com",
         "device":{"browser":"Chrome","browserVersion":"131.0","os":"macOS","osVersion":"14.6","deviceType":"desktop","screen":"1920x1080"},
         "sentAt":1700000005000,"events":[
          {"id":"e1","type":"view","ts":1700000000000,"duration":1234,"name":"Cart","url":"https://shop.example.com/cart?token=abc&lang=en","timing":{"ttfb":120.5,"fcp":480,"lcp":900.25}},
          {"id":"e2","type":"action","ts":1700000001000,"duration":350,"name":"click on \"Checkout\"","parent":"e1"},
          {"id":"e3","type":"request","ts":1700000001050,"duration":210,"url":"https://api.example.com/v1/cart","method":"POST","status":200,"parent":"e2"},
          {"id":"e4","type":"resource","ts":1700000001100,"duration":45,"url":"https://cdn.example.com/app.js","status":200,"parent":"e1"},
          {"id":"e5","type":"request","ts":1700000001300,"duration":1500,"url":"https://api.example.com/v1/pay","method":"POST","status":502,"parent":"e2"},
          {"id":"e6","type":"error","ts":1700000002900,"message":"TypeError: x is undefined","stack":"at pay (app.js:10:5)\nat click (app.js:20:1)","fatal":false,"parent":"e2"},
          {"id":"e7","type":"action","ts":1700000003000,"duration":120,"name":"click on \"Retry\"","parent":"e1","props":{"plan":"pro","items":3,"gift":true}},
          {"id":"e8","type":"heartbeat","ts":1700000004000},
          {"id":"e9","type":"custom","ts":1700000004500,"name":"coupon-applied","props":{"code":"SAVE10","amount":9.99}},
          {"id":"e10","type":"view","ts":1700000004900,"name":"Payment","url":"https://shop.example.com/pay"}
         ]}
        """#
}
