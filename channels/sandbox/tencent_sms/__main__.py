from channels.sandbox.sms_center.serve import parser, serve, templates
from channels.sandbox.tencent_sms.app import TencentOptions, make_app

if __name__ == "__main__":
    p = parser("tencent")
    p.add_argument("--sdk-app-id", default="1400000000")
    args = p.parse_args()
    serve(lambda center, a: make_app(center, TencentOptions(
        credentials={a.key_id: a.secret}, apps={a.sdk_app_id}, signs=set(a.sign or ["政务公开"]),
        templates=templates(a.template), report_url=a.report_url, latency=a.latency, qps=a.qps)), args)
