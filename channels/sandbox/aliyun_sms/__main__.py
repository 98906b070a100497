from channels.sandbox.aliyun_sms.app import AliyunOptions, make_app
from channels.sandbox.sms_center.serve import parser, serve, templates

if __name__ == "__main__":
    args = parser("aliyun").parse_args()
    serve(lambda center, a: make_app(center, AliyunOptions(
        credentials={a.key_id: a.secret}, signs=set(a.sign or ["政务公开"]), templates=templates(a.template),
        report_url=a.report_url, latency=a.latency, qps=a.qps)), args)
