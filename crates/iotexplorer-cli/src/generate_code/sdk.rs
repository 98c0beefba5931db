//! Programs on Tencent Cloud's official SDKs for Python, Node.js, Go and Java, laid out
//! the way API Explorer writes them: credentials from the environment, the client for the
//! call's region and endpoint, the request from the call's values, the response printed
//! as JSON, and the SDK's error reported with its code and RequestId.

use std::fmt::Write as _;

use serde_json::Value;

use super::Call;
use super::literal::{JAVASCRIPT, PYTHON, data_literal, go_str, java_str, json_str};

/// The note every program carries for an action that changes something: the SDKs do not
/// tell an ambiguous failure apart, so the program says what to do about one.
fn write_warning(call: &Call<'_>) -> Option<&'static str> {
    if call.meta.read_only {
        return None;
    }
    Some(if call.meta.name == "BatchUpdateFirmware" {
        "A network error after sending leaves the outcome unknown: the task may exist. Look it \
         up (DescribeFirmwareTasks) before sending the call again."
    } else {
        "A network error after sending leaves the outcome unknown: check the state the call \
         changes before sending it again."
    })
}

/// The request members as a JSON value, in the order given.
fn params(call: &Call<'_>) -> Value {
    Value::Object(call.body.clone())
}

/// Python, with `tencentcloud-sdk-python` (or the slimmer `-iotexplorer` package).
pub(crate) fn python(call: &Call<'_>) -> String {
    let name = call.meta.name;
    let mut out = String::new();
    let _ = writeln!(out, "\"\"\"{}: the call as a program.\n", call.title());
    out.push_str(
        "pip install tencentcloud-sdk-python-iotexplorer\n\n\
         Credentials: TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY (with\n\
         TENCENTCLOUD_SESSION_TOKEN for temporary ones), else the SDK's default chain (profile\n\
         file, CVM instance role).\n",
    );
    if let Some(warning) = write_warning(call) {
        let _ = writeln!(out, "\n{}", wrap(warning, 88, ""));
    }
    out.push_str("\"\"\"\n\n");
    out.push_str(
        "import json\nimport os\nimport sys\n\n\
         from tencentcloud.common import credential\n\
         from tencentcloud.common.exception.tencent_cloud_sdk_exception import (\n    \
         TencentCloudSDKException,\n)\n\
         from tencentcloud.common.profile.client_profile import ClientProfile\n\
         from tencentcloud.common.profile.http_profile import HttpProfile\n\
         from tencentcloud.iotexplorer.v20190423 import iotexplorer_client, models\n\n\n",
    );
    out.push_str(
        "def credentials():\n    \
         secret_id = os.environ.get(\"TENCENTCLOUD_SECRET_ID\")\n    \
         secret_key = os.environ.get(\"TENCENTCLOUD_SECRET_KEY\")\n    \
         if secret_id and secret_key:\n        \
         token = os.environ.get(\"TENCENTCLOUD_SESSION_TOKEN\")\n        \
         return credential.Credential(secret_id, secret_key, token)\n    \
         return credential.DefaultCredentialProvider().get_credential()\n\n\n",
    );
    out.push_str("def main():\n    http_profile = HttpProfile()\n");
    let _ = writeln!(
        out,
        "    http_profile.endpoint = {}",
        json_str(call.sdk_endpoint())
    );
    if call.plain_http() {
        out.push_str("    http_profile.scheme = \"http\"\n");
    }
    if call.get {
        out.push_str("    http_profile.reqMethod = \"GET\"\n");
    }
    if let Some(seconds) = call.timeout_secs {
        let _ = writeln!(out, "    http_profile.reqTimeout = {seconds}");
    }
    out.push_str(
        "    client_profile = ClientProfile()\n    client_profile.httpProfile = http_profile\n",
    );
    if let Some(language) = &call.language {
        let _ = writeln!(out, "    client_profile.language = {}", json_str(language));
    }
    let _ = writeln!(
        out,
        "    client = iotexplorer_client.IotexplorerClient(credentials(), {}, client_profile)\n",
        json_str(call.region.as_deref().unwrap_or(""))
    );
    let _ = writeln!(
        out,
        "    params = {}",
        data_literal(&params(call), PYTHON, 4, 4)
    );
    let _ = writeln!(
        out,
        "    request = models.{name}Request()\n    \
         request.from_json_string(json.dumps(params))\n    \
         try:\n        \
         response = client.{name}(request)\n    \
         except TencentCloudSDKException as err:\n        \
         print(\n            \
         f\"{{err.get_code()}}: {{err.get_message()}} (RequestId {{err.get_request_id()}})\",\n            \
         file=sys.stderr,\n        )\n        \
         return 1\n    \
         print(response.to_json_string(indent=2))\n    \
         return 0\n\n\n\
         if __name__ == \"__main__\":\n    \
         sys.exit(main())"
    );
    out
}

/// Node.js, with `tencentcloud-sdk-nodejs` (or the slimmer `-iotexplorer` package, whose
/// interface is the same).
pub(crate) fn node(call: &Call<'_>) -> String {
    let name = call.meta.name;
    let mut out = String::new();
    let _ = writeln!(out, "// {}: the call as a program.\n//", call.title());
    out.push_str(
        "// npm install tencentcloud-sdk-nodejs\n\
         // (or tencentcloud-sdk-nodejs-iotexplorer, which has the same interface)\n//\n\
         // Credentials: TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY (with\n\
         // TENCENTCLOUD_SESSION_TOKEN for temporary ones).\n",
    );
    if let Some(warning) = write_warning(call) {
        let _ = writeln!(out, "//\n{}", wrap(warning, 88, "// "));
    }
    out.push_str(
        "\n\"use strict\";\n\nconst tencentcloud = require(\"tencentcloud-sdk-nodejs\");\n\n\
         const IotexplorerClient = tencentcloud.iotexplorer.v20190423.Client;\n\n",
    );
    out.push_str(
        "const client = new IotexplorerClient({\n  credential: {\n    \
         secretId: process.env.TENCENTCLOUD_SECRET_ID,\n    \
         secretKey: process.env.TENCENTCLOUD_SECRET_KEY,\n    \
         token: process.env.TENCENTCLOUD_SESSION_TOKEN,\n  },\n",
    );
    // Without a region the SDK sends no X-TC-Region (an empty one would be sent as is).
    if let Some(region) = &call.region {
        let _ = writeln!(out, "  region: {},", json_str(region));
    }
    out.push_str("  profile: {\n");
    if let Some(language) = &call.language {
        let _ = writeln!(out, "    language: {},", json_str(language));
    }
    out.push_str("    httpProfile: {\n");
    let _ = writeln!(out, "      endpoint: {},", json_str(call.sdk_endpoint()));
    if call.plain_http() {
        out.push_str("      protocol: \"http://\",\n");
    }
    if call.get {
        out.push_str("      reqMethod: \"GET\",\n");
    }
    if let Some(seconds) = call.timeout_secs {
        let _ = writeln!(out, "      reqTimeout: {seconds},");
    }
    out.push_str("    },\n  },\n});\n\n");
    let _ = writeln!(
        out,
        "const params = {};\n",
        data_literal(&params(call), JAVASCRIPT, 0, 2)
    );
    let _ = writeln!(
        out,
        "client.{name}(params).then(\n  (response) => {{\n    \
         console.log(JSON.stringify(response, null, 2));\n  }},\n  \
         (err) => {{\n    \
         console.error(`${{err.code}}: ${{err.message}} (RequestId ${{err.requestId}})`);\n    \
         process.exitCode = 1;\n  }},\n);"
    );
    out
}

/// Go, with `github.com/tencentcloud/tencentcloud-sdk-go`.
pub(crate) fn go(call: &Call<'_>) -> String {
    let name = call.meta.name;
    let mut out = String::new();
    let _ = writeln!(out, "// {}: the call as a program.\n//", call.title());
    out.push_str(
        "//\tgo get github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common\n\
         //\tgo get github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/iotexplorer\n//\n\
         // Credentials: TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY (with\n\
         // TENCENTCLOUD_SESSION_TOKEN for temporary ones).\n",
    );
    if let Some(warning) = write_warning(call) {
        let _ = writeln!(out, "//\n{}", wrap(warning, 88, "// "));
    }
    out.push_str(
        "package main\n\nimport (\n\t\"fmt\"\n\t\"os\"\n\n\
         \t\"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common\"\n\
         \t\"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/errors\"\n\
         \t\"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile\"\n\
         \tiotexplorer \"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/iotexplorer/v20190423\"\n)\n\n",
    );
    out.push_str(
        "func main() {\n\tcredential := common.NewTokenCredential(\n\
         \t\tos.Getenv(\"TENCENTCLOUD_SECRET_ID\"),\n\
         \t\tos.Getenv(\"TENCENTCLOUD_SECRET_KEY\"),\n\
         \t\tos.Getenv(\"TENCENTCLOUD_SESSION_TOKEN\"),\n\t)\n\
         \tclientProfile := profile.NewClientProfile()\n",
    );
    let _ = writeln!(
        out,
        "\tclientProfile.HttpProfile.Endpoint = {}",
        json_str(call.sdk_endpoint())
    );
    if call.plain_http() {
        out.push_str("\tclientProfile.HttpProfile.Scheme = \"HTTP\"\n");
    }
    if call.get {
        out.push_str("\tclientProfile.HttpProfile.ReqMethod = \"GET\"\n");
    }
    if let Some(seconds) = call.timeout_secs {
        let _ = writeln!(out, "\tclientProfile.HttpProfile.ReqTimeout = {seconds}");
    }
    if let Some(language) = &call.language {
        let _ = writeln!(out, "\tclientProfile.Language = {}", json_str(language));
    }
    let _ = writeln!(
        out,
        "\tclient, err := iotexplorer.NewClient(credential, {}, clientProfile)\n\
         \tif err != nil {{\n\t\tfmt.Fprintln(os.Stderr, \"cannot set up the client:\", err)\n\
         \t\tos.Exit(2)\n\t}}\n",
        json_str(call.region.as_deref().unwrap_or(""))
    );
    let params = serde_json::to_string(&params(call)).unwrap_or_default();
    let _ = writeln!(
        out,
        "\trequest := iotexplorer.New{name}Request()\n\
         \tif err := request.FromJsonString({}); err != nil {{\n\
         \t\tfmt.Fprintln(os.Stderr, \"invalid request:\", err)\n\t\tos.Exit(2)\n\t}}\n\
         \tresponse, err := client.{name}(request)\n\
         \tif sdkErr, ok := err.(*errors.TencentCloudSDKError); ok {{\n\
         \t\tfmt.Fprintf(os.Stderr, \"%s: %s (RequestId %s)\\n\", sdkErr.Code, sdkErr.Message, sdkErr.RequestId)\n\
         \t\tos.Exit(1)\n\t}}\n\
         \tif err != nil {{\n\t\tfmt.Fprintln(os.Stderr, \"the call failed:\", err)\n\t\tos.Exit(3)\n\t}}\n\
         \tfmt.Println(response.ToJsonString())\n}}",
        go_str(&params)
    );
    out
}

/// Java, with `com.tencentcloudapi:tencentcloud-sdk-java-iotexplorer`. The class is named
/// after the action, so the file is `<Action>.java`.
pub(crate) fn java(call: &Call<'_>) -> String {
    let name = call.meta.name;
    let mut out = String::new();
    // ASCII only: javac reads a source in the platform's encoding, which may not be UTF-8.
    let _ = writeln!(out, "// {name}: the call as a program.\n//");
    out.push_str(
        "// Maven: com.tencentcloudapi:tencentcloud-sdk-java-iotexplorer (or\n\
         // tencentcloud-sdk-java). Save as ",
    );
    let _ = writeln!(out, "{name}.java.\n//");
    out.push_str(
        "// Credentials: TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY (with\n\
         // TENCENTCLOUD_SESSION_TOKEN for temporary ones).\n",
    );
    if let Some(warning) = write_warning(call) {
        let _ = writeln!(out, "//\n{}", wrap(warning, 88, "// "));
    }
    let _ = writeln!(
        out,
        "\nimport com.tencentcloudapi.common.AbstractModel;\n\
         import com.tencentcloudapi.common.Credential;\n\
         import com.tencentcloudapi.common.exception.TencentCloudSDKException;\n\
         import com.tencentcloudapi.common.profile.ClientProfile;\n\
         import com.tencentcloudapi.common.profile.HttpProfile;\n\
         import com.tencentcloudapi.iotexplorer.v20190423.IotexplorerClient;\n\
         import com.tencentcloudapi.iotexplorer.v20190423.models.{name}Request;\n\
         import com.tencentcloudapi.iotexplorer.v20190423.models.{name}Response;\n\n\
         public class {name} {{\n    public static void main(String[] args) {{\n        try {{\n            \
         Credential credential = new Credential(\n                \
         System.getenv(\"TENCENTCLOUD_SECRET_ID\"),\n                \
         System.getenv(\"TENCENTCLOUD_SECRET_KEY\"),\n                \
         System.getenv(\"TENCENTCLOUD_SESSION_TOKEN\"));\n            \
         HttpProfile httpProfile = new HttpProfile();"
    );
    let _ = writeln!(
        out,
        "            httpProfile.setEndpoint({});",
        java_str(call.sdk_endpoint())
    );
    if call.plain_http() {
        out.push_str("            httpProfile.setProtocol(HttpProfile.REQ_HTTP);\n");
    }
    if call.get {
        out.push_str("            httpProfile.setReqMethod(HttpProfile.REQ_GET);\n");
    }
    if let Some(seconds) = call.timeout_secs {
        let _ = writeln!(out, "            httpProfile.setReadTimeout({seconds});");
    }
    out.push_str(
        "            ClientProfile clientProfile = new ClientProfile();\n            \
         clientProfile.setHttpProfile(httpProfile);\n",
    );
    if let Some(language) = &call.language {
        let constant = if language == "zh-CN" {
            "ZH_CN"
        } else {
            "EN_US"
        };
        let _ = writeln!(
            out,
            "            clientProfile.setLanguage(com.tencentcloudapi.common.profile.Language.{constant});"
        );
    }
    let _ = writeln!(
        out,
        "            IotexplorerClient client = new IotexplorerClient(credential, {}, clientProfile);",
        java_str(call.region.as_deref().unwrap_or(""))
    );
    let params = serde_json::to_string(&params(call)).unwrap_or_default();
    let _ = writeln!(
        out,
        "            String params = {};\n            \
         {name}Request request = AbstractModel.fromJsonString(params, {name}Request.class);\n            \
         {name}Response response = client.{name}(request);\n            \
         System.out.println(AbstractModel.toJsonString(response));\n        \
         }} catch (TencentCloudSDKException err) {{\n            \
         System.err.println(err.getErrorCode() + \": \" + err.getMessage()\n                \
         + \" (RequestId \" + err.getRequestId() + \")\");\n            \
         System.exit(1);\n        }}\n    }}\n}}",
        java_str(&params)
    );
    out
}

/// `text` broken into lines of at most `width` characters, each starting with `prefix`.
fn wrap(text: &str, width: usize, prefix: &str) -> String {
    let mut lines = Vec::new();
    let mut line = String::from(prefix);
    for word in text.split_whitespace() {
        if line.len() > prefix.len() && line.len() + 1 + word.len() > width {
            lines.push(std::mem::replace(&mut line, String::from(prefix)));
        }
        if line.len() > prefix.len() {
            line.push(' ');
        }
        line.push_str(word);
    }
    lines.push(line);
    lines.join("\n")
}
