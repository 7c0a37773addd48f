"""The web console in a real headless Chromium, driven by Selenium's WebDriver, against a
`recpipe quickstart --keep-running` server: sign in, train from the worksheet, watch the job
page's curve until Completed, a user's recommendations, deploy and predict, a failed job's reason,
a role without grants seeing no rows. Every page photographed is first checked for form controls
without a label. Screenshots of each page go to --shots.

Run by console_browser.rs; exits non-zero with the failed step on the first failure."""

import argparse
import os
import re
import sys
import tempfile
import time

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

p = argparse.ArgumentParser()
p.add_argument("--url", required=True, help="the console's URL, ending in /console/")
p.add_argument("--password", required=True, help="ADMIN's password")
p.add_argument("--shots", required=True, help="folder for the screenshots")
p.add_argument("--chromium", default="/usr/bin/chromium")
p.add_argument("--chromedriver", default="/usr/bin/chromedriver")
a = p.parse_args()
base = a.url.rstrip("/")
os.makedirs(a.shots, exist_ok=True)

profile = tempfile.mkdtemp(prefix="recpipe-chromium-")
opts = webdriver.ChromeOptions()
opts.binary_location = a.chromium
for flag in ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-dev-shm-usage", "--window-size=1280,1000", f"--user-data-dir={profile}"]:
    opts.add_argument(flag)
driver = webdriver.Chrome(service=Service(executable_path=a.chromedriver), options=opts)
driver.set_page_load_timeout(60)
step = "start"


def say(msg):
    print(f"console_browser: {msg}", flush=True)


def begin(name):
    global step
    step = name
    say(f"step: {name}")


def unlabelled():
    """Form controls of the page a screen reader could not name: no label[for], no enclosing
    label, no aria-label(ledby); and buttons without text."""
    return driver.execute_script("""
        const bad = [];
        for (const el of document.querySelectorAll('input, select, textarea, button')) {
            if (el.type === 'hidden') continue;
            if (el.tagName === 'BUTTON') { if (!el.textContent.trim() && !el.getAttribute('aria-label')) bad.push(el.outerHTML); continue; }
            const named = (el.id && document.querySelector(`label[for="${el.id}"]`)) || el.closest('label')
                || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby');
            if (!named) bad.push(el.outerHTML);
        }
        return bad;""")


def shot(name):
    bad = unlabelled()
    assert not bad, f"{name}: controls without a label: {bad}"
    path = os.path.join(a.shots, f"{name}.png")
    # The whole page: the window grows to the document's height for the picture.
    height = driver.execute_script("return Math.max(document.body.scrollHeight, 900)")
    driver.set_window_size(1280, min(height + 40, 4000))
    driver.save_screenshot(path)
    driver.set_window_size(1280, 1000)
    say(f"screenshot {path}")


def wait(cond, secs=30, what="the page"):
    try:
        # A page replaced while it is read (a form post navigating) leaves stale elements: read again.
        return WebDriverWait(driver, secs, poll_frequency=0.3, ignored_exceptions=[StaleElementReferenceException]).until(cond)
    except TimeoutException:
        raise AssertionError(f"{what} did not appear within {secs} s; page text:\n{text()[:3000]}")


def text():
    for _ in range(50):
        try:
            return driver.find_element(By.TAG_NAME, "body").text
        except StaleElementReferenceException:
            time.sleep(0.1)  # the document was replaced between finding its body and reading it
    return driver.find_element(By.TAG_NAME, "body").text


def sign_in(user, password):
    driver.get(base + "/signin")
    wait(EC.presence_of_element_located((By.ID, "user")))
    driver.find_element(By.ID, "user").send_keys(user)
    pw = driver.find_element(By.ID, "password")
    pw.send_keys(password)
    pw.send_keys(Keys.ENTER)
    wait(EC.url_contains("/console/jobs"), what="the jobs list after signing in")


def sign_out():
    driver.find_element(By.CSS_SELECTOR, ".who button").click()
    wait(EC.url_contains("/console/signin"), what="the sign-in form after signing out")


def run_sql(sql):
    """Types SQL into the worksheet and runs it with Ctrl+Enter (the keyboard path)."""
    driver.get(base + "/worksheet")
    box = wait(EC.element_to_be_clickable((By.ID, "sql")))
    box.clear()
    box.send_keys(sql)
    box.send_keys(Keys.CONTROL, Keys.ENTER)
    wait(EC.presence_of_element_located((By.CSS_SELECTOR, "section.outcome")), 90, "the worksheet's results")
    return text()


def train_from_worksheet(input_table):
    body = run_sql("use role sysadmin;\nuse schema movielens.public;\n"
                   f"select train_and_get_recommendations('{input_table}', 'user_movie_recommendations')")
    assert "Error" not in body, body
    link = wait(EC.presence_of_element_located((By.CSS_SELECTOR, "a[href^='/console/jobs/']")), what="the link to the new job")
    return link.get_attribute("href").rsplit("/", 1)[1]


def wait_job(name, status, secs=180):
    driver.get(f"{base}/jobs/{name}")
    # The page's script polls the live section and reloads the page once the job has ended.
    wait(lambda d: f"Status: {status}" in text(), secs, f"job {name} reaching {status}")


try:
    begin("sign-in page, keyboard first")
    driver.get(base + "/jobs")
    wait(EC.url_contains("/console/signin"), what="the redirect of a page without a session to sign-in")
    body = driver.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.TAB)
    focused = driver.switch_to.active_element
    assert focused.get_attribute("id") in ("user", "password") or focused.tag_name in ("input", "a"), focused.tag_name
    for control in ("user", "password"):
        labels = driver.find_elements(By.CSS_SELECTOR, f"label[for='{control}']")
        assert labels, f"the {control} field has a label"
    shot("01-signin")

    begin("wrong password is refused")
    sign_in_page = base + "/signin"
    driver.get(sign_in_page)
    driver.find_element(By.ID, "user").send_keys("admin")
    driver.find_element(By.ID, "password").send_keys("not-the-password" + Keys.ENTER)
    wait(lambda d: "Incorrect username or password" in text(), what="the refusal")

    begin("sign in as ADMIN")
    sign_in("admin", a.password)
    assert "ADMIN" in text(), text()
    shot("02-jobs")

    begin("train from the worksheet")
    job = train_from_worksheet("ratings_train_data")
    say(f"training job {job}")
    shot("03-worksheet")

    begin("job page: curve and Completed")
    wait_job(job, "Completed")
    polylines = driver.find_elements(By.CSS_SELECTOR, "svg.chart polyline")
    assert len(polylines) >= 3, f"2 folds and the final fit: {len(polylines)} lines"
    assert "final fit" in text() and "Hyperparameters" in text(), text()
    assert "model.tar.gz" in text(), "the model artifact is shown"
    shot("04-job")

    begin("the jobs list shows the job with its metrics")
    driver.get(base + "/jobs?status=Completed")
    row = wait(EC.presence_of_element_located((By.XPATH, f"//tr[th/a[text()='{job}']]")), what="the job's row")
    assert re.search(r"0\.\d{4}", row.text), row.text

    begin("a user's recommendations")
    driver.get(f"{base}/recommendations?job={job}&user=1")
    top = wait(EC.presence_of_element_located((By.XPATH, "//table[caption[contains(., 'Top 10 for user 1')]]")), what="the top 10 table")
    rows = top.find_elements(By.CSS_SELECTOR, "tbody tr")
    assert len(rows) == 10, f"{len(rows)} rows"
    first_movie = re.search(r"\((\d+)\)", rows[0].find_element(By.TAG_NAME, "th").text).group(1)
    assert driver.find_elements(By.XPATH, "//table[caption[contains(., 'Rated highest by user 1')]]//tbody/tr"), "rated movies"
    shot("05-recommendations")

    begin("deploy from the worksheet")
    body = run_sql("use role sysadmin;\nuse schema movielens.public;\n"
                   f"select deploy_model('console-model', trim(describe_job('{job}'):ModelArtifacts.S3ModelArtifacts::varchar, '\"'))")
    assert "Error" not in body, body
    deadline = time.time() + 180
    while True:
        driver.get(base + "/endpoints/console-model")
        if "Status: InService" in text() and "healthy" in text():
            break
        assert time.time() < deadline, f"console-model is not InService:\n{text()}"
        time.sleep(1)
    shot("06-endpoint")

    begin("predict from the recommendations page")
    driver.get(f"{base}/recommendations?job={job}&user=1")
    Select(wait(EC.presence_of_element_located((By.ID, "endpoint")))).select_by_value("console-model")
    movie = driver.find_element(By.ID, "p-movie")
    movie.send_keys(first_movie)
    movie.send_keys(Keys.ENTER)
    out = wait(EC.presence_of_element_located((By.ID, "prediction")), what="the prediction").text
    m = re.search(r": (-?\d+(\.\d+)?)$", out)
    assert m and 0.0 <= float(m.group(1)) <= 6.0, out
    say(f"prediction: {out}")
    shot("07-predict")

    begin("the endpoint page shows the prediction's latency")
    deadline = time.time() + 30
    while True:
        driver.get(base + "/endpoints/console-model")
        m = re.search(r"Over the last 5 minutes: p50 (\d+\.\d+) ms, p95 (\d+\.\d+) ms, p99 (\d+\.\d+) ms", text())
        if m:
            break
        assert time.time() < deadline, f"no latency on the endpoint page:\n{text()}"
        time.sleep(1)
    p50, p99 = float(m.group(1)), float(m.group(3))
    assert 0.0 < p50 <= p99, m.group(0)
    assert driver.find_elements(By.XPATH, "//*[name()='svg']/*[name()='title'][contains(., 'Invocation latency of console-model')]"), "the latency chart"
    say(m.group(0))
    shot("12-endpoint-latency")
    driver.get(base + "/endpoints")
    assert "console-model" in text() and "InService" in text(), text()
    shot("08-endpoints")

    begin("the gateway's stage and access log")
    driver.get(base + "/gateway")
    wait(lambda d: "Access log" in text(), what="the gateway page")
    assert "/train" in text() and "AWS_IAM" in text(), text()
    log = driver.find_element(By.XPATH, "//table[caption[contains(., 'requests, newest first')]]").text
    assert "assumed-role" in log and "200" in log, log
    shot("11-gateway")

    begin("a failed job shows its reason")
    run_sql("use role sysadmin;\nuse schema movielens.public;\n"
            "create or replace table empty_ratings (userid int, movieid int, rating float)")
    failed = train_from_worksheet("empty_ratings")
    wait_job(failed, "Failed")
    reason = driver.find_element(By.CSS_SELECTOR, ".failure").text
    assert "EMPTY_RATINGS" in reason.upper(), reason
    shot("09-failed-job")

    begin("a role without grants sees no rows")
    body = run_sql("use role accountadmin;\ncreate role if not exists console_viewer;\n"
                   "create or replace user viewer password = 'Viewer-passw0rd' default_role = console_viewer;\n"
                   "grant role console_viewer to user viewer")
    assert "Error" not in body, body
    sign_out()
    sign_in("viewer", "Viewer-passw0rd")
    assert "0 jobs" in text(), text()
    body = run_sql("select * from movielens.public.ratings limit 5")
    assert "Error 002003" in body and "not authorized" in body, body
    driver.get(f"{base}/recommendations?user=1")
    wait(lambda d: "No rows visible" in text(), what="the refusal on the recommendations page")
    assert "Top 10 for user 1" not in text() or "No rows visible" in text()
    shot("10-no-grants")
    driver.get(f"{base}/jobs/{job}")
    assert "does not exist or your role may not see it" in text(), text()
    say("all steps passed")
except Exception as e:
    say(f"FAILED at step '{step}': {e}")
    try:
        shot("failure")
    except Exception:
        pass
    sys.exit(1)
finally:
    driver.quit()
