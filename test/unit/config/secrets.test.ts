import { describe, expect, it } from "vitest";
import { isSecretOption, maskLine, maskValue } from "../../../src/config/secrets.js";

describe("secret masking", () => {
  it("knows secret option names", () => {
    for (const k of [
      "password",
      "admin_password",
      "metadata_proxy_shared_secret",
      "memcache_secret_key",
      "admin_token",
      "fixed_key",
      "SECRET_KEY",
      "rabbit_password",
    ]) {
      expect(isSecretOption(k), k).toBe(true);
    }
    for (const k of ["connection", "transport_url", "auth_url", "username", "host", "key_repository"]) {
      expect(isSecretOption(k), k).toBe(false);
    }
  });

  it("masks whole secret values and only the password of URLs", () => {
    expect(maskValue("password", "pw")).toBe("***");
    expect(maskValue("password", "")).toBe("");
    expect(maskValue("connection", "mysql+pymysql://u:pw@h/db")).toBe("mysql+pymysql://u:***@h/db");
  });

  it("masks INI and Python lines, commented or not, keeping their shape", () => {
    expect(maskLine("password = pw")).toBe("password = ***");
    expect(maskLine("#admin_password=pw  ")).toBe("#admin_password=***  ");
    expect(maskLine("#password = <None>")).toBe("#password = <None>");
    expect(maskLine("connection=mysql://u:p;w#d@h/db")).toBe("connection=mysql://u:***@h/db");
    expect(maskLine("transport_url = rabbit://a:b@h1,c:d@h2/")).toBe(
      "transport_url = rabbit://a:***@h1,c:***@h2/",
    );
    expect(maskLine("SECRET_KEY = 'abc'  # c")).toBe("SECRET_KEY = '***'  # c");
    expect(maskLine("        'PASSWORD': \"x'y\",")).toBe("        'PASSWORD': \"***\",");
    expect(maskLine("# free text with http://u:p@h/ inside")).toBe("# free text with http://u:***@h/ inside");
  });
});
