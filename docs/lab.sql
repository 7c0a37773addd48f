-- The lab, as `recpipe sql` runs it a step at a time (README.md, "The lab by hand"):
--   recpipe sql --session -f docs/lab.sql --step NAME --var NAME=VALUE ...
-- ${EF_ROLE_ARN} is snf_ef_role_arn from config.dev.yml, ${API_PREFIX} the stage URL that
-- `recpipe deploy` prints (http://127.0.0.1:4747/<api id>/dev/), ${JOB} the training job's name.

-- step: setup (as SYSADMIN, after `recpipe load movielens DIR` created MOVIES and RATINGS; `recpipe
-- init` gave your user the lab's defaults, so the session starts in MOVIELENS.PUBLIC)
use role sysadmin;
create or replace warehouse compute_wh with warehouse_size = 'XSMALL' auto_suspend = 60 auto_resume = true;
use warehouse compute_wh;
select count(*) from ratings;
create or replace table ratings_train_data as (select userid, movieid, rating from ratings);
create or replace table user_movie_recommendations (userid int, top_10_recommendations variant);

-- step: integration (as ACCOUNTADMIN)
use role accountadmin;
use schema movielens.public;
create or replace api integration snf_recommender_api_integration
  api_provider = aws_api_gateway
  api_aws_role_arn = '${EF_ROLE_ARN}'
  enabled = true
  api_allowed_prefixes = ('${API_PREFIX}');
describe integration snf_recommender_api_integration;

-- step: functions (after the trust policy names API_AWS_IAM_USER_ARN and API_AWS_EXTERNAL_ID)
use role accountadmin;
use schema movielens.public;
create or replace external function train_and_get_recommendations(input_table_name varchar, output_table_name varchar)
  returns variant
  api_integration = snf_recommender_api_integration
  context_headers = (current_role, current_database, current_schema)
  as '${API_PREFIX}train';
create or replace external function deploy_model(model_name varchar, model_url varchar)
  returns variant
  api_integration = snf_recommender_api_integration
  as '${API_PREFIX}deploy';
create or replace external function invoke_model(model_name varchar, user_id varchar, item_id varchar)
  returns variant
  api_integration = snf_recommender_api_integration
  as '${API_PREFIX}invoke';
create or replace external function describe_job(name_or_arn varchar)
  returns variant
  api_integration = snf_recommender_api_integration
  as '${API_PREFIX}describe';
grant usage on function train_and_get_recommendations(varchar, varchar) to role sysadmin;
grant usage on function deploy_model(varchar, varchar) to role sysadmin;
grant usage on function invoke_model(varchar, varchar, varchar) to role sysadmin;
grant usage on function describe_job(varchar) to role sysadmin;

-- step: train (as SYSADMIN; answers the training job's ARN at once, the job runs on)
use role sysadmin;
use schema movielens.public;
select train_and_get_recommendations('ratings_train_data', 'user_movie_recommendations');

-- step: status (${JOB}: the name at the end of the ARN)
select describe_job('${JOB}'):TrainingJobStatus::varchar as status,
       describe_job('${JOB}'):SecondaryStatus::varchar as secondary_status,
       describe_job('${JOB}'):FailureReason::varchar as failure_reason;

-- step: results (once the status is Completed)
select * from user_movie_recommendations limit 10;

-- step: deploy (the endpoint is Creating at first; `recpipe endpoints wait movielens-model-v1`)
-- (trim: `::varchar` of a VARIANT string keeps its JSON quotes in recpipe today)
select deploy_model('movielens-model-v1', describe_job('${JOB}'):ModelArtifacts.S3ModelArtifacts::varchar);

-- step: invoke (once the endpoint is InService)
create or replace table no_ratings (userid float, movieid float);
insert into no_ratings (userid, movieid) values ('1', '610'), ('10', '313'), ('10', '297'), ('5', '18'), ('5', '19');
select nr.userid, nr.movieid, m.title, invoke_model('movielens-model-v1', nr.userid, nr.movieid) as rating_prediction
  from no_ratings nr, movies m
  where nr.movieid = m.movieid;
