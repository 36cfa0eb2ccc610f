-- your query here
SELECT 1;
